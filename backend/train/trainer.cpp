// The training loop. One optimizer step:
//   1. resample the step-mode DropLoRA masks (one Bernoulli draw per module)
//   2. grad_accum micro-batches: loss_i = Σ CE_i / N_step  (N_step = counted
//      tokens of the whole step, so the accumulated gradient is the exact mean)
//   3. clip the global gradient norm, set the scheduled lr, AdamW step
// Evaluation, statistics and checkpoints run between steps at their cadence.
//
// Data-parallel (train/distributed.h, docs/distributed.md): every rank draws
// the step's world_size × grad_accum micro-batches from the same seeded order
// and runs forward and backward on every world_size-th one (its shard); the
// gradients, the loss and the stop flag are summed over ranks in one
// collective, so every rank applies the same update and N_step is the token
// count of the whole global batch. The step masks are rank 0's draw. Only
// rank 0 writes the run folder.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <optional>
#include <thread>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "adapters/lora_adapter.h"
#include "adapters/peft.h"
#include "analysis/channel_stats.h"
#include "common/error.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "io/checkpoint_files.h"
#include "model/llama.h"
#include "model/lm_loss.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/divergence.h"
#include "train/run_folder.h"
#include "train/metrics_log.h"
#include "train/resources.h"
#include "train/schedule.h"
#include "train/session.h"

namespace droplora::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Mean loss over every counted token of the validation set; nothing is masked.
// With a process group, each rank scores every world_size-th example and the sums are reduced.
EvalMetrics evaluate(Session& s, const std::vector<data::Example>& all_val, int64_t pad_id, int64_t batch_size,
                     int64_t step, ProcessGroup* group) {
    EvalMetrics m;
    m.step = step;
    if (all_val.empty()) return m;
    std::vector<data::Example> shard;
    if (group != nullptr) {
        const World& w = group->world();
        for (size_t i = static_cast<size_t>(w.rank); i < all_val.size(); i += static_cast<size_t>(w.size))
            shard.push_back(all_val[i]);
    }
    const std::vector<data::Example>& val = group != nullptr ? shard : all_val;
    torch::NoGradGuard no_grad;
    s.model->eval();
    data::EvalBatches batches(val, pad_id);
    data::Batch b;
    torch::Tensor sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
    while (batches.next(batch_size, &b)) {
        auto hidden = s.model->hidden_states(b.input_ids.to(s.device), b.attention_mask.to(s.device), nullptr);
        sum += model::causal_lm_loss_sum_from_hidden(hidden, s.model->lm_head_weight(), b.labels.to(s.device))
                   .to(torch::kFloat64);
        m.tokens += b.counted_tokens;
    }
    s.model->train();
    if (group != nullptr) {
        torch::Tensor total = torch::stack({sum.cpu(), torch::tensor(static_cast<double>(m.tokens), torch::kFloat64)});
        group->all_reduce_sum({total}, "the evaluation at step " + std::to_string(step));
        sum = total[0];
        m.tokens = static_cast<int64_t>(total[1].item<double>() + 0.5);
    }
    m.loss = m.tokens ? sum.item<double>() / static_cast<double>(m.tokens) : 0.0;
    m.perplexity = std::exp(std::min(m.loss, 700.0));
    return m;
}

// The keys a resume may change: how fast it learns from here on, nothing that
// changes what the checkpoint means.
const std::vector<std::string> kResumeKeys = {"train.lr", "train.schedule", "train.warmup_steps", "train.max_grad_norm",
                                              "train.stop_on_divergence"};

class Run {
public:
    Run(const config::RunConfig& cfg, Observer& obs, RunControl& control, std::string resume_dir,
        std::vector<std::string> resume_overrides, std::optional<World> world)
        : cfg_(cfg),
          obs_(obs),
          control_(control),
          resume_dir_(std::move(resume_dir)),
          resume_overrides_(std::move(resume_overrides)),
          given_world_(std::move(world)) {}

    RunResult execute();

private:
    void setup();
    void claim_output();
    void restore_from_checkpoint();
    void discard_unstarted_output();
    void train_loop();
    // One step of train_loop, in the order it runs them.
    struct StepResult {
        double loss = 0, grad_norm = 0, lr = 0;
        int64_t tokens = 0;           // loss tokens of the step (the mean's denominator)
        int64_t attended_tokens = 0;  // every non-padding token, for tokens/s
    };
    StepResult optimizer_step(std::vector<std::pair<std::string, model::Linear>>& adapted,
                              std::vector<torch::Tensor>& params, double clip);
    void report_step(const StepResult& r);
    void after_step(const StepResult& r, std::vector<std::pair<std::string, model::Linear>>& adapted);
    void check_finite(double loss, double grad_norm);
    void save(const char* why);
    void snapshot_if_asked();
    void finish_adapter();

    config::RunConfig cfg_;
    Observer& obs_;
    RunControl& control_;
    std::string resume_dir_;
    std::vector<std::string> resume_overrides_;
    std::optional<World> given_world_;  // else torchrun's environment
    RunResult result_;
    std::unique_ptr<run_folder::Lock> lock_;
    bool created_output_ = false;  // the run folder did not exist (or was empty) before this run
    bool diverged_ = false;        // a NaN/Inf or a divergence stop: the weights are not worth a checkpoint

    Session session_;
    RunData data_;
    std::unique_ptr<data::Batcher> batcher_;
    std::unique_ptr<torch::optim::AdamW> optimizer_;
    std::unique_ptr<MetricsLog> metrics_;
    std::unique_ptr<DivergenceMonitor> divergence_;
    analysis::ChannelStatistics stats_;
    TrainerState state_;
    int64_t max_steps_ = 0;
    int64_t last_saved_step_ = -1;
    bool in_update_ = false;  // inside optimizer.step: the weights are not consistent
    // Between drawing a step's micro-batches and its update the weights are still the last whole step's; the
    // batcher is put back here before a checkpoint after an error, so the checkpoint is that step's.
    data::BatcherState step_start_batcher_;
    bool drawing_step_ = false;
    World world_;                          // one process unless launched with torchrun's variables
    std::unique_ptr<ProcessGroup> group_;  // set when world_.distributed()
    bool stop_agreed_ = false;             // a rank asked to stop; every rank stops after the same step
    fs::path last_snapshot_;  // the live-preview snapshot this run wrote last (snapshot_if_asked)
    bool training_ = false;  // train_loop began: before it, the session may be half restored and is never saved
    bool writes() const { return world_.rank == 0; }  // rank 0 alone writes the run folder
    bool stopped() const { return group_ ? stop_agreed_ : control_.stop.load(); }
    void join_process_group();
    void inject_fault_for_tests() const;
    // The timing train_loop keeps: tokens since the last metrics row, the run's start.
    struct Window {
        Clock::time_point start;
        int64_t tokens = 0;
    } window_;
    Clock::time_point run_start_;
    double elapsed_before_ = 0;  // seconds the run had trained before this process (a resume)
    int64_t start_step_ = 0;
};

void Run::setup() {
    if (!resume_dir_.empty()) {
        // The run's own resolved config is the truth; the output stays where the run is.
        const std::string saved = run_folder::config_path(resume_dir_);
        if (!fs::exists(saved)) fail(resume_dir_, "not a run folder (no config.yaml)");
        cfg_ = config::load_run_config(saved);
        cfg_.output = resume_dir_;
        for (const auto& kv : resume_overrides_) {
            const std::string key = kv.substr(0, kv.find('='));
            if (std::find(kResumeKeys.begin(), kResumeKeys.end(), key) == kResumeKeys.end())
                fail("--set", key + " cannot change on --resume (it would change what the checkpoint means); "
                              "allowed: train.lr, train.schedule, train.warmup_steps, train.max_grad_norm, "
                              "train.stop_on_divergence");
            config::apply_override(cfg_, kv);
        }
    }
    config::validate(cfg_, "run config");
    // The saved config.yaml must mean the same from any working directory.
    for (std::string* p : {&cfg_.model, &cfg_.data.train, &cfg_.data.val, &cfg_.output, &cfg_.adapter.init_adapter})
        if (!p->empty()) *p = fs::absolute(*p).lexically_normal().string();
    result_.run_dir = cfg_.output;
    // Cheap checks before anything is written, so a typo leaves no run folder behind.
    io::require_model_folder(cfg_.model);
    world_ = given_world_ ? *given_world_ : world_from_environment();
    if (world_.distributed()) join_process_group();
    if (writes()) claim_output();

    obs_.on_log("loading " + cfg_.model);
    config::RunConfig session_cfg = cfg_;  // config.yaml keeps "auto": a resume picks again
    session_cfg.device = device_for_rank(world_, cfg_.device);
    session_ = build_session(session_cfg, [this](const std::string& l) { obs_.on_log(l); });
    if (!session_.device.is_cuda()) use_share_of_cores(world_.local_size);
    obs_.on_log(describe_device(session_.device, session_.dtype));
    data_ = load_run_data(cfg_, *session_.tokenizer, [this](const std::string& l) { obs_.on_log(l); });
    obs_.on_log("train " + std::to_string(data_.train.size()) + " / validation " + std::to_string(data_.val.size()) +
                " examples; " + std::to_string(session_.trainable.size()) + " trainable tensors");

    batcher_ = std::make_unique<data::Batcher>(data_.train, static_cast<uint64_t>(cfg_.train.seed), data_.pad_id);
    if (group_) group_->require_same("data", batcher_->state().data_hash, "training data (its tokenized content)");
    const auto& t = cfg_.train;
    max_steps_ = t.max_steps > 0 ? t.max_steps
                                 : static_cast<int64_t>(std::ceil(t.epochs * batcher_->batches_per_epoch(t.batch_size) /
                                                                  static_cast<double>(t.grad_accum)));
    if (max_steps_ < 1) fail("train.epochs", "gives no optimizer step for this dataset");
    divergence_ = std::make_unique<DivergenceMonitor>(session_.model->config().vocab_size);

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
        restore_from_checkpoint();
        keep_until = state_.step;
    }
    if (group_) {
        // Seeded alike, the ranks hold the same weights already; rank 0's are made everyone's all the same.
        std::vector<torch::Tensor> weights;
        for (auto& [name, p] : session_.trainable) weights.push_back(p);
        group_->broadcast(weights, "the initial trainable weights");
        // Token masks and input dropout differ per rank; rank 0 draws what one process would.
        if (world_.rank > 0)
            torch::manual_seed(static_cast<uint64_t>(cfg_.train.seed) + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(world_.rank) +
                               static_cast<uint64_t>(state_.step));
    }
    if (!writes()) return;
    config::save_run_config(cfg_, run_folder::config_path(cfg_.output));
    std::error_code ec;
    if (resume_dir_.empty()) fs::remove(run_folder::metrics_path(cfg_.output), ec);
    metrics_ = std::make_unique<MetricsLog>(run_folder::metrics_path(cfg_.output), keep_until);
    if (!resume_overrides_.empty()) {
        std::string changed;
        for (const auto& kv : resume_overrides_) changed += (changed.empty() ? "" : ", ") + kv;
        metrics_->write_note(state_.step, "resumed with " + changed);
        obs_.on_log("resumed with " + changed);
    }
}

// Joins the ranks of torchrun's environment, and checks that they train the same run.
void Run::join_process_group() {
    group_ = std::make_unique<ProcessGroup>(world_, cfg_.distributed.backend, cfg_.device,
                                            std::chrono::seconds(cfg_.distributed.timeout_s),
                                            [this] { return control_.stop.load(); });
    config::RunConfig settings = cfg_;  // paths aside: each machine may keep the model and data elsewhere
    for (std::string* p : {&settings.model, &settings.data.train, &settings.data.val, &settings.output,
                           &settings.adapter.init_adapter})
        p->clear();
    group_->require_same("settings", config::to_yaml(settings), "run file (its settings, paths aside)");
    const auto& t = cfg_.train;
    obs_.on_log("data-parallel: " + std::to_string(world_.size) + " processes (" + group_->backend() + "), this is rank " +
                std::to_string(world_.rank) + "; a step's batch is " + std::to_string(t.batch_size) + " × " +
                std::to_string(t.grad_accum) + " × " + std::to_string(world_.size) + " = " +
                std::to_string(t.batch_size * t.grad_accum * world_.size) + " examples");
}

// DROPLORA_FAULT=exit:RANK:STEP or hang:RANK:STEP makes that rank exit (status 86) or stop answering after
// that step: how tests/test_distributed.cpp checks that the others end cleanly (docs/distributed.md).
void Run::inject_fault_for_tests() const {
    static const std::string spec = [] {
        const char* v = std::getenv("DROPLORA_FAULT");
        return std::string(v ? v : "");
    }();
    if (spec.empty()) return;
    const auto a = spec.find(':'), b = spec.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) return;
    const std::string kind = spec.substr(0, a);
    if (std::to_string(world_.rank) != spec.substr(a + 1, b - a - 1) || std::to_string(state_.step) != spec.substr(b + 1))
        return;
    if (kind == "exit") std::_Exit(86);
    if (kind == "hang")
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

// Creates and locks the run folder, and clears what interrupted writes left in it.
void Run::claim_output() {
    std::error_code ec;
    created_output_ = !fs::exists(cfg_.output, ec) || fs::is_empty(cfg_.output, ec);
    lock_ = std::make_unique<run_folder::Lock>(cfg_.output, resume_dir_.empty() ? "training" : "resuming");
    for (const auto& removed : run_folder::clean_leftovers(cfg_.output))
        obs_.on_log("removed the leftover of an interrupted write: " + removed);
}

// The newest checkpoint that verifies and loads; newer damaged ones are named and passed over.
void Run::restore_from_checkpoint() {
    std::vector<std::string> skipped;
    auto candidates = run_folder::list_checkpoints(resume_dir_);
    if (candidates.empty()) fail(resume_dir_, "has no checkpoint to resume from");
    std::string last_error;
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
        std::string why = run_folder::checkpoint_problem(it->dir);
        if (why.empty()) {
            try {
                state_ = load_checkpoint(it->dir, session_, *optimizer_);
            } catch (const Error& e) {
                why = e.what();
            }
            if (why.empty() && state_.world_size != world_.size)
                fail(resume_dir_, it->dir + " was trained by " + std::to_string(state_.world_size) +
                                      " process(es) and this resume runs " + std::to_string(world_.size) +
                                      ": a step's batch is batch_size × grad_accum × processes, so resume it with " +
                                      (state_.world_size == 1 ? std::string("one process")
                                                              : "--nproc-per-node " + std::to_string(state_.world_size) +
                                                                    " (or as many torchrun ranks)"));
            if (why.empty()) {
                // Not the checkpoint's fault: the data differs (data::Batcher compares a content hash).
                try {
                    batcher_->restore(state_.batcher);
                } catch (const Error& e) {
                    fail(cfg_.data.train, std::string("is not the training data of ") + it->dir + " (" + e.what() +
                                              "); resume needs the same data");
                }
            }
        }
        if (!why.empty()) {
            obs_.on_log("skipped a damaged checkpoint: " + why);
            last_error = why;
            continue;
        }
        last_saved_step_ = state_.step;
        result_.last_checkpoint = it->dir;
        obs_.on_log("resumed from " + it->dir + " at step " + std::to_string(state_.step));
        return;
    }
    fail(resume_dir_, "no checkpoint can be loaded (the oldest: " + last_error + ")");
}

// A run that failed before its first step leaves nothing behind.
void Run::discard_unstarted_output() {
    if (!writes() || !created_output_ || !resume_dir_.empty() || state_.step > 0 || cfg_.output.empty()) return;
    std::error_code ec;
    for (const char* name : {run_folder::kConfig, run_folder::kMetrics, run_folder::kCheckpoints})
        fs::remove_all(run_folder::join(cfg_.output, name), ec);
    lock_.reset();
    fs::remove(run_folder::join(cfg_.output, run_folder::kLock), ec);
    if (fs::is_empty(cfg_.output, ec)) fs::remove(cfg_.output, ec);
}

void Run::save(const char* why) {
    if (state_.step == last_saved_step_ || state_.step == 0 || !writes()) return;
    state_.batcher = batcher_->state();
    state_.world_size = world_.size;
    result_.last_checkpoint = save_checkpoint(cfg_.output, session_, *optimizer_, state_);
    last_saved_step_ = state_.step;
    obs_.on_checkpoint(result_.last_checkpoint, state_.step);
    obs_.on_log(std::string("checkpoint (") + why + "): " + result_.last_checkpoint);
}

// A live preview's adapter: the weights as they are between two steps. Written
// into a new step-N folder (a reader of the previous one is never disturbed by
// a half-written file), then the previous one this run wrote is removed. A failure to write
// is reported, not fatal: the run goes on.
void Run::snapshot_if_asked() {
    if (!control_.snapshot.exchange(false)) return;
    if (!writes() || control_.snapshot_dir.empty() || session_.full_finetune) {
        obs_.on_snapshot("", state_.step);
        return;
    }
    const fs::path root(control_.snapshot_dir);
    char name[32];
    std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(state_.step));
    const fs::path dir = root / name;
    try {
        torch::NoGradGuard no_grad;
        std::error_code made;
        fs::create_directories(root, made);
        if (made) fail(root.string(), "cannot create the snapshot folder: " + made.message());
        save_run_adapter(session_, dir.string());
    } catch (const std::exception& e) {
        obs_.on_log(std::string("live preview: the adapter snapshot was not written: ") + e.what());
        obs_.on_snapshot("", state_.step);
        return;
    }
    // Only the snapshot this run wrote before is removed, never anything else in the folder.
    if (!last_snapshot_.empty() && last_snapshot_ != dir) {
        std::error_code ec;
        fs::remove_all(last_snapshot_, ec);
    }
    last_snapshot_ = dir;
    obs_.on_snapshot(dir.string(), state_.step);
}

void Run::train_loop() {
    training_ = true;
    obs_.on_started(max_steps_, state_.step);
    session_.model->train();
    auto adapted = session_.adapted_linears();
    std::vector<torch::Tensor> params;
    for (auto& [name, p] : session_.trainable) params.push_back(p);
    const double clip = cfg_.train.max_grad_norm > 0 ? cfg_.train.max_grad_norm : std::numeric_limits<double>::infinity();
    window_ = {Clock::now(), 0};
    elapsed_before_ = state_.elapsed_s;
    start_step_ = state_.step;
    run_start_ = Clock::now();

    while (state_.step < max_steps_) {
        snapshot_if_asked();
        while (control_.pause.load() && !control_.stop.load()) {
            snapshot_if_asked();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (stopped()) break;
        const StepResult r = optimizer_step(adapted, params, clip);
        report_step(r);
        after_step(r, adapted);
    }
}

// New masks, grad_accum micro-batches forward and backward (the loss is the mean
// over the step's loss tokens), clipping, the scheduled learning rate, AdamW.
Run::StepResult Run::optimizer_step(std::vector<std::pair<std::string, model::Linear>>& adapted,
                                    std::vector<torch::Tensor>& params, double clip) {
    const auto& t = cfg_.train;
    StepResult r;
    std::vector<torch::Tensor> step_masks;
    for (auto& [name, lin] : adapted) {
        auto ad = adapters::lora_of(*lin);
        ad->resample_step_mask();
        if (ad->step_mask().defined()) step_masks.push_back(ad->step_mask());
    }
    if (group_ && !step_masks.empty()) group_->broadcast(step_masks, "the masks of step " + std::to_string(state_.step + 1));
    step_start_batcher_ = batcher_->state();
    drawing_step_ = true;
    // The global batch: world × grad_accum micro-batches in the seeded order; this rank's are every world-th.
    std::vector<data::Batch> micro;
    for (int64_t i = 0; i < t.grad_accum * world_.size; ++i) {
        data::Batch b = batcher_->next_batch(t.batch_size);
        r.tokens += b.counted_tokens;
        r.attended_tokens += b.attention_mask.sum().item<int64_t>();  // CPU tensor: no device sync
        if (i % world_.size == world_.rank) micro.push_back(std::move(b));
    }
    optimizer_->zero_grad();
    torch::Tensor step_loss = torch::zeros({}, torch::TensorOptions().device(session_.device));
    for (auto& b : micro) {
        // The loss from the hidden states: only counted positions reach lm_head, no [B, T, V] logits kept.
        auto hidden = session_.model->hidden_states(b.input_ids.to(session_.device),
                                                    b.attention_mask.to(session_.device), nullptr);
        auto loss = model::causal_lm_loss_sum_from_hidden(hidden, session_.model->lm_head_weight(),
                                                          b.labels.to(session_.device)) /
                    static_cast<double>(std::max<int64_t>(1, r.tokens));
        loss.backward();
        step_loss += loss.detach();
    }
    if (group_) {
        // One collective: the gradients, the loss and whether any rank was asked to stop.
        std::vector<torch::Tensor> reduced;
        for (auto& p : params) {
            if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
            reduced.push_back(p.grad());
        }
        torch::Tensor stop = torch::full({1}, control_.stop.load() ? 1.0f : 0.0f);
        reduced.push_back(step_loss);
        reduced.push_back(stop);
        group_->all_reduce_sum(reduced, "the gradients of step " + std::to_string(state_.step + 1));
        stop_agreed_ = stop.item<float>() > 0;
    }
    r.loss = step_loss.item<double>();
    r.grad_norm = torch::nn::utils::clip_grad_norm_(params, clip);
    check_finite(r.loss, r.grad_norm);
    r.lr = learning_rate(t.schedule, t.lr, state_.step, t.warmup_steps, max_steps_);
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(r.lr);
    in_update_ = true;
    optimizer_->step();
    in_update_ = false;
    drawing_step_ = false;
    ++state_.step;
    state_.tokens_seen += r.tokens;
    return r;
}

// The step's metrics row (every log_every steps and at the last): loss, rate, ETA, memory.
void Run::report_step(const StepResult& r) {
    window_.tokens += r.attended_tokens;
    if (state_.step % std::max<int64_t>(1, cfg_.train.log_every) != 0 && state_.step != max_steps_) return;
    const auto now = Clock::now();
    const double window_s = std::chrono::duration<double>(now - window_.start).count();
    const double run_s = std::chrono::duration<double>(now - run_start_).count();
    StepMetrics m;
    m.step = state_.step;
    m.max_steps = max_steps_;
    m.epoch = batcher_->epoch_progress();
    m.loss = r.loss;
    m.lr = r.lr;
    m.grad_norm = r.grad_norm;
    m.tokens = r.tokens;
    m.tokens_per_sec = window_s > 0 ? static_cast<double>(window_.tokens) / window_s : 0.0;
    state_.elapsed_s = elapsed_before_ + run_s;
    m.elapsed_s = state_.elapsed_s;
    const double per_step = run_s / static_cast<double>(std::max<int64_t>(1, state_.step - start_step_));
    m.eta_s = per_step * static_cast<double>(max_steps_ - state_.step);
    m.device_memory_mb = device_memory_mb(session_.device);
    if (metrics_) metrics_->write(m);
    obs_.on_step(m);
    window_ = {Clock::now(), 0};
}

// What follows a step at its cadence: the divergence watch, the rank-channel
// statistics, evaluation, a scheduled checkpoint.
void Run::after_step(const StepResult& r, std::vector<std::pair<std::string, model::Linear>>& adapted) {
    const auto& t = cfg_.train;
    if (const std::string why = divergence_->observe(state_.step, r.loss, r.grad_norm); !why.empty()) {
        if (t.stop_on_divergence) {
            diverged_ = true;
            fail("training", "diverged: " + why + "; stopped (train.stop_on_divergence), the last good checkpoint is " +
                                 (result_.last_checkpoint.empty() ? std::string("none") : result_.last_checkpoint));
        }
        obs_.on_log("warning: the run looks divergent: " + why);
    }
    if (writes() && t.stats_every > 0 && !adapted.empty() && state_.step % t.stats_every == 0) {
        auto sample = stats_.collect(state_.step, adapted);
        metrics_->write(sample);
        obs_.on_stats(sample);
    }
    if ((t.eval_every > 0 && state_.step % t.eval_every == 0) || state_.step == max_steps_) {
        auto e = evaluate(session_, data_.val, data_.pad_id, t.batch_size, state_.step, group_.get());
        if (e.tokens > 0 && writes()) {
            metrics_->write(e);
            obs_.on_eval(e);
        }
    }
    if (t.save_every > 0 && state_.step % t.save_every == 0) save("scheduled");
    inject_fault_for_tests();
}

// A NaN or Inf loss or gradient: the weights that produced it are poisoned, so
// nothing of this step is applied and no checkpoint is written from them; the
// last scheduled checkpoint stays the newest.
void Run::check_finite(double loss, double grad_norm) {
    if (std::isfinite(loss) && std::isfinite(grad_norm)) return;
    in_update_ = false;
    diverged_ = true;
    const std::string what = !std::isfinite(loss) ? "the loss became " + std::to_string(loss)
                                                  : "the gradient norm became " + std::to_string(grad_norm);
    fail("training", what + " at step " + std::to_string(state_.step + 1) + "; nothing of that step was kept" +
                         (result_.last_checkpoint.empty()
                              ? std::string(" and no checkpoint had been written yet")
                              : "; the last good checkpoint is " + result_.last_checkpoint + " (--resume continues from it") +
                         (result_.last_checkpoint.empty() ? "" : ")") +
                         ". Try a lower train.lr (e.g. --resume RUN --set train.lr=…), more train.warmup_steps, or "
                         "check the data");
}

void Run::finish_adapter() {
    if (!writes()) return;
    const fs::path out = run_folder::adapter_dir(cfg_.output);
    session_.model->eval();
    if (session_.full_finetune) {
        obs_.on_log("full fine-tuning: export the model with `droplora export --format merged`");
        return;
    }
    run_folder::forget_scores(cfg_.output);  // they were the previous adapter's
    save_run_adapter(session_, out.string());
    obs_.on_log("PEFT adapter written to " + out.string());
}

RunResult Run::execute() {
    try {
        setup();
        train_loop();
        save(stopped() ? "stopped" : "final");
        finish_adapter();
        result_.last_step = state_.step;
        result_.outcome = stopped() && state_.step < max_steps_ ? RunOutcome::Cancelled : RunOutcome::Finished;
    } catch (const std::exception& e) {
        std::string msg = e.what();
        if (auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
        if (msg.find("out of memory") != std::string::npos || dynamic_cast<const std::bad_alloc*>(&e))
            msg = "out of memory at step " + std::to_string(state_.step + 1) +
                  " (lower train.batch_size or data.max_seq_len): " + msg.substr(0, 200);
        // Keep the work done: the weights after the last whole step are consistent
        // (unless they are what diverged).
        if (training_ && !in_update_ && !diverged_) {
            try {
                if (drawing_step_) batcher_->restore(step_start_batcher_);  // the weights are the last whole step's
                save("after error");
            } catch (const std::exception& e2) {
                msg += " (and the checkpoint could not be written: " + std::string(e2.what()) + ")";
            }
        }
        result_.outcome = RunOutcome::Failed;
        result_.message = rank_prefix(world_) + msg;
        result_.last_step = state_.step;
        discard_unstarted_output();
    }
    lock_.reset();
    obs_.on_finished(result_.outcome, result_.message);
    return result_;
}

}  // namespace

RunResult run_training(const config::RunConfig& cfg, Observer& observer, RunControl& control,
                       const std::string& resume_dir, const std::vector<std::string>& resume_overrides) {
    Run run(cfg, observer, control, resume_dir, resume_overrides, std::nullopt);
    return run.execute();
}

RunResult run_training_as(const World& world, const config::RunConfig& cfg, Observer& observer, RunControl& control,
                          const std::string& resume_dir, const std::vector<std::string>& resume_overrides) {
    Run run(cfg, observer, control, resume_dir, resume_overrides, world);
    return run.execute();
}

}  // namespace droplora::train
