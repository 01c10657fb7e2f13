#include "train/session.h"

#include <algorithm>
#include <set>

#include <torch/torch.h>

#include "adapters/lora_adapter.h"
#include "data/batcher.h"
#include "common/error.h"
#include "adapters/peft.h"
#include "io/checkpoint_files.h"
#include "io/safetensors_torch.h"
#include "model/loader.h"
#include "train/resources.h"

namespace droplora::train {

namespace {

std::string module_kind(const std::string& name) { return name.substr(name.rfind('.') + 1); }

}  // namespace

std::vector<std::pair<std::string, model::Linear>> Session::adapted_linears() const {
    std::vector<std::pair<std::string, model::Linear>> out;
    for (auto& [name, lin] : model->named_linears())
        if (lin->has_adapter()) out.emplace_back(name, lin);
    return out;
}

Session build_session(const config::RunConfig& cfg, const LogFn& log) {
    use_all_cores();
    keep_freed_memory();
    Session s;
    s.cfg = cfg;
    s.device = model::resolve_device(cfg.device, "device");
    s.full_finetune = cfg.adapter.method == "full";
    std::string precision_note;
    s.dtype = model::resolve_precision(cfg.precision, s.device, "precision", &precision_note, s.full_finetune);
    if (log) log("precision: " + precision_note);
    if (s.full_finetune && s.dtype != torch::kFloat32)
        fail("adapter.method", "full fine-tuning needs precision fp32 (bf16 weights cannot take small updates)");

    io::require_model_folder(cfg.model);  // before the tokenizer takes a file for its tokenizer.model
    s.tokenizer = data::Tokenizer::load(cfg.model);
    model::LoadOptions load;
    load.device = s.device;
    load.dtype = s.dtype;
    load.log = log;
    s.model = model::load_llama(cfg.model, load);
    if (s.tokenizer->vocab_size() > s.model->config().vocab_size)
        fail(cfg.model, "the tokenizer has " + std::to_string(s.tokenizer->vocab_size()) +
                            " pieces but the model's vocab_size is " + std::to_string(s.model->config().vocab_size));

    s.model->set_gradient_checkpointing(cfg.train.gradient_checkpointing);
    torch::manual_seed(static_cast<uint64_t>(cfg.train.seed));
    if (s.full_finetune) {
        for (auto& [name, t] : s.model->hf_state()) {
            t.set_requires_grad(true);
            s.trainable.emplace_back(name, t);
        }
        return s;  // tied embeddings appear once in hf_state
    }

    adapters::LoraOptions opts;
    opts.rank = cfg.adapter.rank;
    opts.alpha = cfg.adapter.alpha;
    opts.rslora = cfg.adapter.rslora;
    opts.dropout = cfg.adapter.dropout;
    opts.drop_rate = cfg.adapter.method == "droplora" ? cfg.adapter.drop_rate : 0.0;
    opts.mask = adapters::parse_mask_mode(cfg.adapter.mask, "adapter.mask");
    const std::set<std::string> targets(cfg.adapter.targets.begin(), cfg.adapter.targets.end());
    int attached = 0;
    for (auto& [name, lin] : s.model->named_linears()) {
        if (!targets.count(module_kind(name)) && !targets.count("all-linear")) continue;
        auto adapter = adapters::attach_lora(*lin, opts);
        s.trainable.emplace_back(name + ".lora_A", adapter->lora_A);
        s.trainable.emplace_back(name + ".lora_B", adapter->lora_B);
        if (adapter->mask_logits.defined()) s.trainable.emplace_back(name + ".mask_logits", adapter->mask_logits);
        ++attached;
    }
    if (attached == 0) fail("adapter.targets", "no module of the model matches the targets");

    if (!cfg.adapter.init_adapter.empty()) {
        // Start from an existing PEFT adapter: its A and B replace the fresh ones.
        const int loaded = adapters::init_from_peft_adapter(*s.model, cfg.adapter.init_adapter);
        if (log) log("initialised " + std::to_string(loaded) + " adapters from " + cfg.adapter.init_adapter);
    }
    return s;
}

std::vector<std::pair<std::string, torch::Tensor>> trainable_state(const Session& s) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& [name, t] : s.trainable) out.emplace_back(name, t.detach().to(torch::kCPU));
    return out;
}

void load_trainable_state(Session& s, const std::string& safetensors_path) {
    auto stored = io::load_all(safetensors_path);
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : s.trainable) {
        auto it = stored.find(name);
        if (it == stored.end()) fail(safetensors_path, "tensor '" + name + "' is missing (checkpoint of another run?)");
        if (it->second.sizes() != t.sizes())
            fail(safetensors_path, "tensor '" + name + "' has another shape than this run's (different rank?)");
        t.copy_(it->second.to(t.scalar_type()));
    }
}

RunData load_run_data(const config::RunConfig& cfg, const data::Tokenizer& tok, const LogFn& log) {
    data::LoadOptions load;
    load.format = data::parse_format(cfg.data.format, "data.format");
    load.skip_bad_rows = cfg.data.skip_bad_rows;
    data::RenderOptions render;
    const std::string in_force = data::resolve_template(cfg.data.templ, cfg.model, &render);
    if (log) log("template: " + in_force);
    render.max_seq_len = cfg.data.max_seq_len;
    render.train_on_prompt = cfg.data.train_on_prompt;

    auto report = [&](const std::string& path, const data::Dataset& d) {
        if (!log) return;
        log(path + ": " + std::to_string(d.examples.size()) + " examples (" + data::format_name(d.format) + "), " +
            std::to_string(d.truncated) + " truncated at " + std::to_string(cfg.data.max_seq_len) + " tokens, " +
            std::to_string(d.skipped_rows) + " bad rows skipped, " + std::to_string(d.without_labels) +
            " without response tokens dropped");
    };
    RunData out;
    out.pad_id = data::padding_id(tok);
    data::Dataset train = data::build_dataset(cfg.data.train, tok, load, render);
    report(cfg.data.train, train);
    if (!cfg.data.val.empty()) {
        data::Dataset val = data::build_dataset(cfg.data.val, tok, load, render);
        report(cfg.data.val, val);
        out.train = std::move(train.examples);
        out.val = std::move(val.examples);
    } else {
        data::split_validation(train.examples, cfg.data.val_fraction, static_cast<uint64_t>(cfg.train.seed), &out.train,
                               &out.val);
    }
    if (out.train.empty()) fail(cfg.data.train, "no training example left");
    return out;
}

nlohmann::json droplora_section(const config::RunConfig& cfg) {
    return {{"method", cfg.adapter.method},
            {"drop_rate", cfg.adapter.method == "droplora" ? cfg.adapter.drop_rate : 0.0},
            {"mask", cfg.adapter.mask},
            {"rslora", cfg.adapter.rslora},
            {"note", "DropLoRA masks only during training; this adapter is plain LoRA at inference"}};
}

}  // namespace droplora::train
