// The training loop. One optimizer step:
//   1. resample the step-mode DropLoRA masks (one Bernoulli draw per module)
//   2. grad_accum micro-batches: loss_i = Σ CE_i / N_step  (N_step = counted
//      tokens of the whole step, so the accumulated gradient is the exact mean)
//   3. clip the global gradient norm, set the scheduled lr, AdamW step
// Evaluation, statistics and checkpoints run between steps at their cadence.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "analysis/channel_stats.h"
#include "common/error.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "io/peft.h"
#include "model/llama.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/resources.h"
#include "train/schedule.h"
#include "train/session.h"

namespace droplora::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Mean loss over every counted token of the validation set; nothing is masked.
EvalMetrics evaluate(Session& s, const std::vector<data::Example>& val, int64_t pad_id, int64_t batch_size,
                     int64_t step) {
    EvalMetrics m;
    m.step = step;
    if (val.empty()) return m;
    torch::NoGradGuard no_grad;
    s.model->eval();
    data::EvalBatches batches(val, pad_id);
    data::Batch b;
    torch::Tensor sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
    while (batches.next(batch_size, &b)) {
        auto logits = s.model->forward(b.input_ids.to(s.device), b.attention_mask.to(s.device));
        sum += model::causal_lm_loss_sum(logits, b.labels.to(s.device)).to(torch::kFloat64);
        m.tokens += b.counted_tokens;
    }
    s.model->train();
    m.loss = m.tokens ? sum.item<double>() / static_cast<double>(m.tokens) : 0.0;
    m.perplexity = std::exp(std::min(m.loss, 700.0));
    return m;
}

class Run {
public:
    Run(const config::RunConfig& cfg, Observer& obs, RunControl& control, std::string resume_dir)
        : cfg_(cfg), obs_(obs), control_(control), resume_dir_(std::move(resume_dir)) {}

    RunResult execute();

private:
    void setup();
    void train_loop();
    void save(const char* why);
    void finish_adapter();

    config::RunConfig cfg_;
    Observer& obs_;
    RunControl& control_;
    std::string resume_dir_;
    RunResult result_;

    Session session_;
    RunData data_;
    std::unique_ptr<data::Batcher> batcher_;
    std::unique_ptr<torch::optim::AdamW> optimizer_;
    std::unique_ptr<MetricsLog> metrics_;
    analysis::ChannelStatistics stats_;
    TrainerState state_;
    int64_t max_steps_ = 0;
    int64_t last_saved_step_ = -1;
    bool in_update_ = false;  // between the first backward and optimizer.step: state not consistent
};

void Run::setup() {
    if (!resume_dir_.empty()) {
        // The run's own resolved config is the truth; the output stays where the run is.
        const std::string saved = (fs::path(resume_dir_) / "config.yaml").string();
        if (!fs::exists(saved)) fail(resume_dir_, "not a run folder (no config.yaml)");
        cfg_ = config::load_run_config(saved);
        cfg_.output = resume_dir_;
    }
    config::validate(cfg_, "run config");
    // The saved config.yaml must mean the same from any working directory.
    for (std::string* p : {&cfg_.model, &cfg_.data.train, &cfg_.data.val, &cfg_.output, &cfg_.adapter.init_adapter})
        if (!p->empty()) *p = fs::absolute(*p).lexically_normal().string();
    result_.run_dir = cfg_.output;
    std::error_code ec;
    fs::create_directories(cfg_.output, ec);
    if (ec) fail(cfg_.output, "cannot create the run folder: " + ec.message());

    obs_.on_log("loading " + cfg_.model);
    session_ = build_session(cfg_, [this](const std::string& l) { obs_.on_log(l); });
    obs_.on_log(describe_device(session_.device, session_.dtype));
    data_ = load_run_data(cfg_, *session_.tokenizer, [this](const std::string& l) { obs_.on_log(l); });
    obs_.on_log("train " + std::to_string(data_.train.size()) + " / validation " + std::to_string(data_.val.size()) +
                " examples; " + std::to_string(session_.trainable.size()) + " trainable tensors");

    batcher_ = std::make_unique<data::Batcher>(data_.train, static_cast<uint64_t>(cfg_.train.seed), data_.pad_id);
    const auto& t = cfg_.train;
    max_steps_ = t.max_steps > 0 ? t.max_steps
                                 : static_cast<int64_t>(std::ceil(t.epochs * batcher_->batches_per_epoch(t.batch_size) /
                                                                  static_cast<double>(t.grad_accum)));
    if (max_steps_ < 1) fail("train.epochs", "gives no optimizer step for this dataset");

    // Weight decay on A and B (and full weights); none on the learned mask's logits.
    std::vector<torch::Tensor> decayed, plain;
    for (auto& [name, p] : session_.trainable)
        (name.size() > 12 && name.compare(name.size() - 12, 12, ".mask_logits") == 0 ? plain : decayed).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay)));
    if (!plain.empty())
        groups.emplace_back(plain,
                            std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(t.lr).weight_decay(0)));
    optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups),
                                                       torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));

    int64_t keep_until = -1;
    if (!resume_dir_.empty()) {
        const std::string ckpt = latest_checkpoint(resume_dir_);
        if (ckpt.empty()) fail(resume_dir_, "has no checkpoint to resume from");
        state_ = load_checkpoint(ckpt, session_, *optimizer_);
        batcher_->restore(state_.batcher);
        last_saved_step_ = state_.step;
        keep_until = state_.step;
        result_.last_checkpoint = ckpt;
        obs_.on_log("resumed from " + ckpt + " at step " + std::to_string(state_.step));
    } else {
        config::save_run_config(cfg_, (fs::path(cfg_.output) / "config.yaml").string());
        fs::remove(fs::path(cfg_.output) / "metrics.jsonl", ec);
    }
    metrics_ = std::make_unique<MetricsLog>((fs::path(cfg_.output) / "metrics.jsonl").string(), keep_until);
}

void Run::save(const char* why) {
    if (state_.step == last_saved_step_ || state_.step == 0) return;
    state_.batcher = batcher_->state();
    result_.last_checkpoint = save_checkpoint(cfg_.output, session_, *optimizer_, state_);
    last_saved_step_ = state_.step;
    obs_.on_checkpoint(result_.last_checkpoint, state_.step);
    obs_.on_log(std::string("checkpoint (") + why + "): " + result_.last_checkpoint);
}

void Run::train_loop() {
    const auto& t = cfg_.train;
    obs_.on_started(max_steps_, state_.step);
    session_.model->train();
    auto adapted = session_.adapted_linears();
    std::vector<torch::Tensor> params;
    for (auto& [name, p] : session_.trainable) params.push_back(p);
    const double clip = t.max_grad_norm > 0 ? t.max_grad_norm : std::numeric_limits<double>::infinity();
    auto window_start = Clock::now();
    int64_t window_tokens = 0;
    const double elapsed_before = state_.elapsed_s;
    const int64_t start_step = state_.step;
    const auto run_start = Clock::now();

    while (state_.step < max_steps_) {
        while (control_.pause.load() && !control_.stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (control_.stop.load()) break;

        for (auto& [name, lin] : adapted) lin->adapter->resample_step_mask();
        std::vector<data::Batch> micro;
        int64_t step_tokens = 0;
        for (int64_t i = 0; i < t.grad_accum; ++i) {
            micro.push_back(batcher_->next_batch(t.batch_size));
            step_tokens += micro.back().counted_tokens;
            window_tokens += micro.back().attention_mask.sum().item<int64_t>();  // CPU tensor: no device sync
        }
        optimizer_->zero_grad();
        in_update_ = true;
        torch::Tensor step_loss = torch::zeros({}, torch::TensorOptions().device(session_.device));
        for (auto& b : micro) {
            auto logits = session_.model->forward(b.input_ids.to(session_.device), b.attention_mask.to(session_.device));
            auto loss = model::causal_lm_loss_sum(logits, b.labels.to(session_.device)) /
                        static_cast<double>(std::max<int64_t>(1, step_tokens));
            loss.backward();
            step_loss += loss.detach();
        }
        const double loss_value = step_loss.item<double>();
        if (!std::isfinite(loss_value)) {
            in_update_ = false;  // nothing was applied: the weights are those of the last step
            fail("training", "loss became " + std::to_string(loss_value) + " at step " + std::to_string(state_.step + 1) +
                                 " (lower train.lr or check the data); the last good checkpoint is kept");
        }
        const double grad_norm = torch::nn::utils::clip_grad_norm_(params, clip);
        const double lr = learning_rate(t.schedule, t.lr, state_.step, t.warmup_steps, max_steps_);
        for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        optimizer_->step();
        in_update_ = false;
        ++state_.step;
        state_.tokens_seen += step_tokens;

        if (state_.step % std::max<int64_t>(1, t.log_every) == 0 || state_.step == max_steps_) {
            const double window_s = std::chrono::duration<double>(Clock::now() - window_start).count();
            StepMetrics m;
            m.step = state_.step;
            m.max_steps = max_steps_;
            m.epoch = batcher_->epoch_progress();
            m.loss = loss_value;
            m.lr = lr;
            m.grad_norm = grad_norm;
            m.tokens = step_tokens;
            m.tokens_per_sec = window_s > 0 ? static_cast<double>(window_tokens) / window_s : 0.0;
            state_.elapsed_s = elapsed_before + std::chrono::duration<double>(Clock::now() - run_start).count();
            m.elapsed_s = state_.elapsed_s;
            const double per_step = std::chrono::duration<double>(Clock::now() - run_start).count() /
                                    static_cast<double>(std::max<int64_t>(1, state_.step - start_step));
            m.eta_s = per_step * static_cast<double>(max_steps_ - state_.step);
            m.device_memory_mb = device_memory_mb(session_.device);
            metrics_->write(m);
            obs_.on_step(m);
            window_start = Clock::now();
            window_tokens = 0;
        }
        if (t.stats_every > 0 && !adapted.empty() && state_.step % t.stats_every == 0) {
            auto sample = stats_.collect(state_.step, adapted);
            metrics_->write(sample);
            obs_.on_stats(sample);
        }
        if ((t.eval_every > 0 && state_.step % t.eval_every == 0) || state_.step == max_steps_) {
            auto e = evaluate(session_, data_.val, data_.pad_id, t.batch_size, state_.step);
            if (e.tokens > 0) {
                metrics_->write(e);
                obs_.on_eval(e);
            }
        }
        if (t.save_every > 0 && state_.step % t.save_every == 0) save("scheduled");
    }
}

void Run::finish_adapter() {
    const fs::path out = fs::path(cfg_.output) / "adapter";
    session_.model->eval();
    if (session_.full_finetune) {
        obs_.on_log("full fine-tuning: export the model with `droplora export --format merged`");
        return;
    }
    io::PeftWriteOptions opts;
    opts.base_model_name_or_path = cfg_.model;
    opts.droplora = droplora_section(cfg_);
    io::save_peft_adapter(*session_.model, out.string(), opts);
    obs_.on_log("PEFT adapter written to " + out.string());
}

RunResult Run::execute() {
    try {
        setup();
        train_loop();
        save(control_.stop.load() ? "stopped" : "final");
        finish_adapter();
        result_.last_step = state_.step;
        result_.outcome = control_.stop.load() && state_.step < max_steps_ ? RunOutcome::Cancelled : RunOutcome::Finished;
    } catch (const std::exception& e) {
        std::string msg = e.what();
        if (auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
        if (msg.find("out of memory") != std::string::npos || dynamic_cast<const std::bad_alloc*>(&e))
            msg = "out of memory at step " + std::to_string(state_.step + 1) +
                  " (lower train.batch_size or data.max_seq_len): " + msg.substr(0, 200);
        // Keep the work done: the weights after the last whole step are consistent.
        if (optimizer_ && !in_update_) {
            try {
                save("after error");
            } catch (const std::exception& e2) {
                msg += " (and the checkpoint could not be written: " + std::string(e2.what()) + ")";
            }
        }
        result_.outcome = RunOutcome::Failed;
        result_.message = msg;
        result_.last_step = state_.step;
    }
    obs_.on_finished(result_.outcome, result_.message);
    return result_;
}

}  // namespace

RunResult run_training(const config::RunConfig& cfg, Observer& observer, RunControl& control,
                       const std::string& resume_dir) {
    Run run(cfg, observer, control, resume_dir);
    return run.execute();
}

}  // namespace droplora::train
