#include "export/gguf_export.h"
#include "adapters/lora_adapter.h"
#include "export/export_folder.h"
#include "common/files.h"
#include "train/run_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "common/error.h"
#include "config/run_config.h"
#include "export/gguf_llama.h"
#include "export/gguf_modelfile.h"
#include "export/gguf_vocab.h"
#include "model/loader.h"
#include "train/checkpoint.h"
#include "train/session.h"

namespace droplora::exports {

namespace fs = std::filesystem;
using io::GgmlType;
using io::GgufValue;

namespace {

// One tensor as it is meant to be in the file: values in GGUF row order.
struct Planned {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> ne;
    std::vector<float> values;
};

std::vector<float> to_floats(const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
    const float* p = c.data_ptr<float>();
    return std::vector<float>(p, p + c.numel());
}

std::vector<int64_t> ggml_dims(const torch::Tensor& t) {
    std::vector<int64_t> ne(t.sizes().rbegin(), t.sizes().rend());
    return ne;
}

// The merged model's tensors: 2-D weights in `type` (token embeddings included),
// 1-D norms in f32, as llama.cpp's converter writes them; llama3 rope factors as rope_freqs.
std::vector<Planned> plan_model(const model::LlamaModelImpl& net, GgmlType type, int64_t* fallbacks,
                                const std::string& where) {
    const auto& cfg = net.config();
    std::vector<Planned> out;
    if (auto freqs = llama3_rope_freqs(cfg); !freqs.empty())
        out.push_back({"rope_freqs.weight", GgmlType::F32, {static_cast<int64_t>(freqs.size())}, freqs});
    // llama.cpp's order: token_embd, then each block, then output_norm / output.
    std::vector<std::pair<std::string, torch::Tensor>> state = net.hf_state();
    auto rank = [](const std::string& n) {
        if (n == "model.embed_tokens.weight") return 0;
        if (n == "model.norm.weight") return 2;
        if (n == "lm_head.weight") return 3;
        return 1;
    };
    auto block = [](const std::string& n) {
        const auto p = n.find("layers.");
        return p == std::string::npos ? -1 : std::stoi(n.substr(p + 7));
    };
    std::stable_sort(state.begin(), state.end(), [&](const auto& a, const auto& b) {
        return std::make_pair(rank(a.first), block(a.first)) < std::make_pair(rank(b.first), block(b.first));
    });
    for (const auto& [hf, t] : state) {
        Planned p;
        p.name = gguf_tensor_name(hf, where);
        p.ne = ggml_dims(t);
        p.values = to_floats(t);
        if (t.dim() == 2) p.values = reorder_rows(p.values, t.size(1), gguf_row_order(hf, cfg));
        p.type = t.dim() >= 2 ? type : GgmlType::F32;
        if (p.type == GgmlType::Q8_0 && p.ne[0] % 32 != 0) {
            p.type = GgmlType::F16;  // as llama.cpp's converter falls back
            ++*fallbacks;
        }
        out.push_back(std::move(p));
    }
    return out;
}

// The adapters as llama.cpp LoRA tensors. llama.cpp computes W + (alpha/r)·B·A,
// so our scale s (alpha/r, alpha/√r with rsLoRA) and the learned mask's fold
// travel in B: B_written = (s·r/alpha)·B'. Returns alpha.
double plan_adapter(const model::LlamaModelImpl& net, std::vector<Planned>* out, const std::string& where) {
    const auto& cfg = net.config();
    double alpha = 0;
    for (const auto& [name, lin] : net.named_linears()) {
        if (!lin->has_adapter()) continue;
        const adapters::LoraAdapter ad = adapters::lora_of(*lin);
        const auto& o = ad->options();
        if (alpha == 0) alpha = o.alpha;
        if (o.alpha != alpha) fail(where, "adapters with different lora_alpha cannot share one GGUF adapter.lora.alpha");
        const torch::Tensor A = ad->lora_A.detach();  // [r, in]
        const int64_t r = A.size(0);
        const double factor = o.scaling() * static_cast<double>(r) / alpha;
        const torch::Tensor B = ad->effective_B().detach().to(torch::kFloat32) * factor;  // [out, r]
        const std::string base = gguf_module_name(name, where) + ".weight";
        out->push_back({base + ".lora_a", GgmlType::F32, ggml_dims(A), to_floats(A)});
        out->push_back({base + ".lora_b", GgmlType::F32, ggml_dims(B),
                        reorder_rows(to_floats(B), B.size(1), gguf_row_order(name, cfg))});
    }
    if (out->empty()) fail(where, "has no adapter to export");
    return alpha;
}

// Per value, how far the file may be from what was meant: exact for f32; half a
// unit in the last place for f16/bf16; one quantization step (block max/127) for q8_0.
double error_ratio(GgmlType type, const std::vector<float>& meant, const std::vector<float>& got) {
    double worst = 0;
    for (size_t i = 0; i < meant.size(); ++i) {
        const double err = std::fabs(static_cast<double>(got[i]) - meant[i]);
        double bound = 0;
        switch (type) {
            case GgmlType::F16: bound = std::ldexp(std::fabs(meant[i]), -11) + std::ldexp(1.0, -25); break;
            case GgmlType::BF16: bound = std::ldexp(std::fabs(meant[i]), -8) + 1e-38; break;
            case GgmlType::Q8_0: {
                const size_t b = i / 32 * 32;
                float amax = 0;
                for (size_t j = b; j < b + 32; ++j) amax = std::max(amax, std::fabs(meant[j]));
                bound = amax / 127.0;
                break;
            }
            default: bound = 0;
        }
        const double ratio = err == 0 ? 0 : bound == 0 ? INFINITY : err / bound;
        if (!(ratio <= worst)) worst = std::isnan(ratio) ? INFINITY : ratio;
    }
    return worst;
}


GgufExportReport write_and_verify(const std::string& out_dir, const std::string& file_name, const io::GgufMetadata& kv,
                                  const std::vector<Planned>& planned, const std::string& modelfile,
                                  const GgufLog& say) {
    const fs::path final_dir(out_dir);
    {
        files::StagingFolder staging(out_dir);  // a failed export leaves nothing behind
        std::vector<io::GgufTensorOut> tensors;
        for (const auto& p : planned)
            tensors.push_back({p.name, p.type, p.ne, io::encode_values(p.type, p.values.data(), p.values.size(), p.name)});
        io::write_gguf(staging.file(file_name), kv, tensors);
        tensors.clear();
        files::write_file_atomic(staging.file("Modelfile"), modelfile);
        staging.commit(/*replace_existing=*/true);  // out_dir was checked: new, empty or an export
    }

    GgufExportReport r;
    r.out_dir = out_dir;
    r.file = (final_dir / file_name).string();
    say("wrote " + r.file + "; reading it back");
    auto f = io::GgufFile::open(r.file);
    bool ok = true;
    for (const auto& [k, v] : kv) {
        const GgufValue* got = f->find(k);
        if (got == nullptr || !(*got == v)) {
            say("  key " + k + ": MISMATCH");
            ok = false;
        }
    }
    r.metadata_keys = static_cast<int64_t>(kv.size());
    if (f->tensors().size() != planned.size()) {
        say("  the file holds " + std::to_string(f->tensors().size()) + " tensors, " + std::to_string(planned.size()) +
            " were written");
        ok = false;
    }
    for (const auto& p : planned) {
        const io::GgufTensorInfo* t = f->find_tensor(p.name);
        if (t == nullptr || t->type != p.type || t->ne != p.ne) {
            say("  tensor " + p.name + ": missing or of another type/shape");
            ok = false;
            continue;
        }
        const double ratio = error_ratio(p.type, p.values, f->values(*t));
        std::ostringstream line;
        line << "  " << p.name << " " << io::ggml_type_name(p.type) << " " << std::setprecision(3) << ratio
             << " of its bound";
        say(line.str());
        if (r.worst_tensor.empty() || ratio > r.worst_error) {
            r.worst_error = ratio;
            r.worst_tensor = p.name;
        }
        if (!(ratio <= 1.0)) ok = false;
        ++r.tensors;
    }
    r.verified = ok;
    std::ostringstream s;
    s << file_name << " " << r.file << ": " << r.tensors << " tensors and " << r.metadata_keys
      << " keys read back; worst tensor " << r.worst_tensor << " at " << std::setprecision(3) << r.worst_error
      << " of its rounding bound — " << (ok ? "verified" : "MISMATCH");
    r.summary = s.str();
    return r;
}

GgufExportReport export_model(const model::LlamaModelImpl& net, const std::string& model_dir, const std::string& name,
                              const std::string& out_dir, const GgufExportOptions& options, const GgufLog& say) {
    const std::string where = (fs::path(model_dir) / "config.json").string();
    const std::string arch = gguf_architecture(net.config(), where);
    if (options.type != GgmlType::F32 && options.type != GgmlType::F16 && options.type != GgmlType::BF16 &&
        options.type != GgmlType::Q8_0)
        fail("--gguf-type", std::string("cannot write ") + io::ggml_type_name(options.type) + " (f32, f16, bf16 or q8_0)");
    const GgufVocab vocab = describe_vocabulary(model_dir, net.config());
    io::GgufMetadata kv;
    add_model_hparams(kv, net.config(), arch, name, llama_file_type(options.type));
    kv.insert(kv.end(), vocab.kv.begin(), vocab.kv.end());
    int64_t fallbacks = 0;
    const auto planned = plan_model(net, options.type, &fallbacks, where);
    if (fallbacks > 0)
        say(std::to_string(fallbacks) + " weight(s) have rows that are not whole Q8_0 blocks of 32: written as f16");
    auto r = write_and_verify(out_dir, "model.gguf", kv, planned, model_modelfile(vocab.stop_tokens), say);
    r.f16_fallbacks = fallbacks;
    say(r.summary);
    return r;
}

}  // namespace

GgufExportReport export_gguf(const std::string& source, GgufKind kind, const std::string& out_dir,
                             const GgufExportOptions& options, const GgufLog& log) {
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    check_output_folder(out_dir, source, options.replace);
    const std::string ckpt = resolve_checkpoint(source, say);
    const auto lock = lock_source_run(source, ckpt);
    say("exporting " + ckpt);
    const config::RunConfig cfg = config::load_run_config(run_folder::join(ckpt, run_folder::kConfig));
    train::Session session = train::build_session(cfg, say);
    train::load_trainable_state(session, run_folder::join(ckpt, run_folder::kTrainable));
    const std::string where = (fs::path(cfg.model) / "config.json").string();
    std::string name = fs::path(source).filename().string();
    if (name.empty()) name = fs::path(source).parent_path().filename().string();
    const model::LlamaModelImpl& net = *session.model;
    const std::string arch = gguf_architecture(net.config(), where);

    if (kind == GgufKind::Model) {
        for (auto& [n, lin] : session.model->named_linears())
            if (lin->has_adapter()) lin->merge_adapter();
        return export_model(net, cfg.model, name, out_dir, options, say);
    }
    if (session.full_finetune) fail(out_dir, "a full fine-tuning run has no adapter; export it as a GGUF model");
    const GgufVocab vocab = describe_vocabulary(cfg.model, net.config());  // the stop tokens; and refuses what llama.cpp cannot tokenize
    std::vector<Planned> planned;
    const double alpha = plan_adapter(net, &planned, ckpt);
    io::GgufMetadata kv = {
        {"general.architecture", GgufValue::string(arch)},
        {"general.type", GgufValue::string("adapter")},
        {"general.name", GgufValue::string(name)},
        {"adapter.type", GgufValue::string("lora")},
        {"adapter.lora.alpha", GgufValue::f32(static_cast<float>(alpha))},
    };
    std::string base = cfg.model;
    std::replace(base.begin(), base.end(), '\n', ' ');
    auto r = write_and_verify(out_dir, "adapter.gguf", kv, planned, adapter_modelfile(base, vocab.stop_tokens), say);
    say(r.summary);
    return r;
}

GgufExportReport convert_model_to_gguf(const std::string& model_dir, const std::string& out_dir,
                                       const GgufExportOptions& options, const GgufLog& log) {
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    check_output_folder(out_dir, model_dir, options.replace);
    model::LoadOptions lo;
    lo.log = say;
    auto net = model::load_llama(model_dir, lo);
    std::string name = fs::path(model_dir).filename().string();
    if (name.empty()) name = fs::path(model_dir).parent_path().filename().string();
    return export_model(*net, model_dir, name, out_dir, options, say);
}

}  // namespace droplora::exports
