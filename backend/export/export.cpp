#include "export/export.h"
#include "export/export_folder.h"
#include "export/gguf_export.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "config/run_config.h"
#include "data/batcher.h"
#include "adapters/peft.h"
#include "io/checkpoint_files.h"
#include "io/safetensors_torch.h"
#include "model/loader.h"
#include "train/checkpoint.h"
#include "train/run_folder.h"
#include "train/session.h"

namespace droplora::exports {

namespace fs = std::filesystem;
using io::CheckpointFiles;
using io::DType;
using io::SafetensorsFile;
using io::TensorInfo;
using io::save_tensors;
using io::to_scalar_type;

namespace {

constexpr int64_t kHeldOutExamples = 8;
constexpr int64_t kShardBytes = int64_t{5} << 30;  // transformers' default max_shard_size

// Mean loss of the model over a fixed batch (nothing masked).
double batch_loss(model::LlamaModelImpl& net, const data::Batch& b, const c10::Device& device) {
    torch::NoGradGuard no_grad;
    net.eval();
    auto logits = net.forward(b.input_ids.to(device), b.attention_mask.to(device));
    return model::causal_lm_loss(logits, b.labels.to(device)).item<double>();
}

DType stored_dtype(const std::string& model_dir) {
    const auto files = CheckpointFiles::open(model_dir);
    const SafetensorsFile* file = nullptr;
    const TensorInfo* info = files.find("model.embed_tokens.weight", &file);
    return info ? info->dtype : DType::F32;
}

const char* torch_dtype_name(DType d) {
    switch (d) {
        case DType::BF16: return "bfloat16";
        case DType::F16: return "float16";
        default: return "float32";
    }
}

void copy_tokenizer_files(const std::string& from, const fs::path& to) {
    for (const char* f : {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json",
                          "generation_config.json"}) {
        std::error_code ec;
        if (fs::exists(fs::path(from) / f)) fs::copy_file(fs::path(from) / f, to / f, fs::copy_options::overwrite_existing, ec);
        if (ec) fail((to / f).string(), "cannot copy: " + ec.message());
    }
}

// Writes the model's weights (adapters already merged) as a Hugging Face folder.
void write_merged(model::LlamaModelImpl& net, const std::string& base_dir, DType dtype, const fs::path& dir) {
    const at::ScalarType st = to_scalar_type(dtype, base_dir);
    std::vector<std::vector<std::pair<std::string, at::Tensor>>> shards(1);
    int64_t bytes = 0;
    for (auto& [name, t] : net.hf_state()) {
        auto cpu = t.detach().to(torch::kCPU).to(st).contiguous();
        const int64_t n = static_cast<int64_t>(cpu.numel() * cpu.element_size());
        if (bytes > 0 && bytes + n > kShardBytes) {
            shards.emplace_back();
            bytes = 0;
        }
        shards.back().emplace_back(name, cpu);
        bytes += n;
    }
    if (shards.size() == 1) {
        save_tensors((dir / "model.safetensors").string(), shards[0]);
    } else {
        nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
        for (size_t i = 0; i < shards.size(); ++i) {
            char name[64];
            std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
            save_tensors((dir / name).string(), shards[i]);
            for (auto& [t, _] : shards[i]) index["weight_map"][t] = name;
        }
        files::write_file_atomic((dir / "model.safetensors.index.json").string(), index.dump(2) + "\n");
    }
    auto cfg = net.config().to_json();
    cfg["torch_dtype"] = torch_dtype_name(dtype);
    files::write_file_atomic((dir / "config.json").string(), cfg.dump(2) + "\n");
    copy_tokenizer_files(base_dir, dir);
}

}  // namespace

ExportReport export_adapter(const std::string& source, ExportFormat format, const std::string& out_dir,
                            const std::function<void(const std::string&)>& log, const ExportOptions& options) {
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    if (format == ExportFormat::GgufModel || format == ExportFormat::GgufAdapter) {
        GgufExportOptions go;
        go.replace = options.replace;
        if (!io::parse_ggml_type(options.gguf_type, &go.type))
            fail("gguf_type", "must be f32, f16, bf16 or q8_0, got '" + options.gguf_type + "'");
        const GgufExportReport g =
            export_gguf(source, format == ExportFormat::GgufModel ? GgufKind::Model : GgufKind::Adapter, out_dir, go, log);
        ExportReport r;
        r.out_dir = g.out_dir;
        r.verified = g.verified;
        r.summary = g.summary;
        return r;
    }
    check_output_folder(out_dir, source, options.replace);
    const std::string ckpt = resolve_checkpoint(source, say);
    const auto lock = lock_source_run(source, ckpt);
    say("exporting " + ckpt);
    config::RunConfig cfg = config::load_run_config(run_folder::join(ckpt, run_folder::kConfig));
    train::Session session = train::build_session(cfg, say);
    train::load_trainable_state(session, run_folder::join(ckpt, run_folder::kTrainable));

    // A held-out batch: validation examples when the run has them.
    train::RunData data = train::load_run_data(cfg, *session.tokenizer);
    const auto& pool = data.val.empty() ? data.train : data.val;
    std::vector<const data::Example*> picked;
    for (int64_t i = 0; i < std::min<int64_t>(kHeldOutExamples, static_cast<int64_t>(pool.size())); ++i)
        picked.push_back(&pool[static_cast<size_t>(i)]);
    const data::Batch batch = data::collate(picked, data.pad_id);

    ExportReport r;
    r.out_dir = out_dir;
    r.tokens = batch.counted_tokens;
    r.reference_loss = batch_loss(*session.model, batch, session.device);
    // fp32 compute agrees to rounding; bf16 compute (CUDA) only to bf16's precision.
    double tolerance = session.dtype == torch::kFloat32 ? 1e-4 : 1e-2;

    const fs::path final_dir(out_dir);
    if (format == ExportFormat::Peft) {
        if (session.full_finetune) fail(out_dir, "a full fine-tuning run has no adapter; export it as a merged model");
        adapters::PeftWriteOptions opts;
        opts.base_model_name_or_path = cfg.model;
        opts.droplora = train::droplora_section(cfg);
        adapters::save_peft_adapter(*session.model, out_dir, opts);  // out_dir was checked: new, empty or an export
        say("wrote " + out_dir + "; loading it back onto a fresh base");
        model::LoadOptions lo;
        lo.device = session.device;
        lo.dtype = session.dtype;
        auto fresh = model::load_llama(cfg.model, lo);
        adapters::load_peft_adapter(*fresh, out_dir);
        r.exported_loss = batch_loss(*fresh, batch, session.device);
    } else {
        const DType dtype = stored_dtype(cfg.model);
        if (dtype != DType::F32) tolerance = 1e-2;  // the merged weights are rounded to the base's dtype
        for (auto& [name, lin] : session.model->named_linears()) lin->merge_adapter();
        files::StagingFolder staging(out_dir);  // a failed export leaves nothing behind
        write_merged(*session.model, cfg.model, dtype, staging.path());
        staging.commit(/*replace_existing=*/true);  // out_dir was checked: new, empty or an export
        say("wrote " + out_dir + "; loading it back");
        model::LoadOptions lo;
        lo.device = session.device;
        lo.dtype = session.dtype;
        auto merged = model::load_llama(out_dir, lo);
        r.exported_loss = batch_loss(*merged, batch, session.device);
    }
    r.relative_diff = std::abs(r.exported_loss - r.reference_loss) / std::max(std::abs(r.reference_loss), 1e-12);
    r.verified = r.relative_diff <= tolerance;
    std::ostringstream s;
    s.precision(6);
    s << (format == ExportFormat::Peft ? "PEFT adapter" : "merged model") << " " << out_dir << ": held-out loss "
      << r.reference_loss << " in memory, " << r.exported_loss << " loaded back (relative difference "
      << std::scientific << std::setprecision(2) << r.relative_diff << ", " << r.tokens << " tokens) — "
      << (r.verified ? "verified" : "MISMATCH");
    r.summary = s.str();
    say(r.summary);
    return r;
}

}  // namespace droplora::exports
