#include "model/loader.h"

#include <filesystem>
#include <set>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "common/cpu_features.h"
#include "common/error.h"
#include "io/checkpoint_files.h"
#include "io/safetensors_torch.h"
#include "model/tensor_layout.h"

namespace droplora::model {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

}  // namespace

namespace {

// Every tensor config.json implies must be in the checkpoint with that shape,
// and the checkpoint may hold nothing else (old RoPE buffers and a tied
// model's stored lm_head aside). Headers only: nothing is allocated yet, so a
// typo such as hidden_size 40960 is a one-line error, not a 12 GB allocation.
void check_layout(const LlamaConfig& cfg, const io::CheckpointFiles& ckpt, const std::string& model_dir,
                  const LoadOptions& options) {
    std::set<std::string> expected;
    auto check = [&](const TensorSpec& spec) {
        const io::SafetensorsFile* file = nullptr;
        const io::TensorInfo* info = ckpt.find(spec.name, &file);
        if (!info)
            fail(model_dir, "tensor '" + spec.name + "' that config.json implies (" + cfg.architecture + ", " +
                                std::to_string(cfg.num_hidden_layers) + " layers) is missing from the checkpoint");
        if (info->shape != spec.shape)
            fail(file->path(), "tensor '" + spec.name + "' has shape " + shape_str(info->shape) +
                                   " but config.json implies " + shape_str(spec.shape));
        expected.insert(spec.name);
    };
    for (const auto& spec : global_tensor_specs(cfg)) check(spec);
    for (int64_t i = 0; i < cfg.num_hidden_layers; ++i)
        for (const auto& spec : layer_tensor_specs(cfg, i)) check(spec);
    int64_t ignored = 0;
    std::string example;
    for (const auto& name : ckpt.names()) {
        if (expected.count(name)) continue;
        const bool harmless = name.find("rotary_emb.inv_freq") != std::string::npos ||
                              (cfg.tie_word_embeddings && name == "lm_head.weight");
        if (!harmless && example.empty()) example = name;
        ++ignored;
    }
    if (!example.empty())
        fail(model_dir, "checkpoint holds tensor '" + example + "' that a " + cfg.architecture +
                            " with this config.json does not have (wrong architecture or config?)");
    if (ignored && options.log) options.log("ignored " + std::to_string(ignored) + " unused tensor(s) in the checkpoint");
}

// A NaN or Inf in a base weight poisons every loss; name it at load.
void check_finite(const at::Tensor& t, const std::string& name, const std::string& file) {
    if (!t.is_floating_point()) return;
    const auto bad = torch::logical_not(torch::isfinite(t)).sum().item<int64_t>();
    if (bad > 0)
        fail(file, "tensor '" + name + "' holds " + std::to_string(bad) + " NaN or infinite value(s) of " +
                       std::to_string(t.numel()) + " (a damaged or diverged checkpoint)");
}

}  // namespace

LlamaModel load_llama(const std::string& model_dir, const LoadOptions& options) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(model_dir)) fail(model_dir, "not a folder (expected a Hugging Face model folder)");
    const LlamaConfig cfg = LlamaConfig::from_file((fs::path(model_dir) / "config.json").string());
    const io::CheckpointFiles ckpt = io::CheckpointFiles::open(model_dir);
    check_layout(cfg, ckpt, model_dir, options);

    LlamaModel model(cfg);
    torch::NoGradGuard no_grad;
    for (auto& [name, target] : model->hf_state()) {
        const io::SafetensorsFile* file = nullptr;
        const io::TensorInfo* info = ckpt.find(name, &file);
        if (!info || at::IntArrayRef(info->shape) != target.sizes())  // check_layout and hf_state disagree: a bug
            fail(model_dir, "internal error: tensor '" + name + "' does not match the expected layout");
        auto t = io::load_tensor(*file, *info);
        check_finite(t, name, file->path());
        target.set_data(t.to(options.device, options.dtype));
    }
    model->to(options.device);  // buffers (inv_freq) follow; weights are already there
    model->fuse_projections();
    model->eval();
    return model;
}

c10::Device resolve_device(const std::string& device, const std::string& where) {
    if (device == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    if (device == "cpu") return c10::Device(c10::kCPU);
    if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
        if (!torch::cuda::is_available())
            fail(where, "device '" + device + "' asked for, but this LibTorch build sees no CUDA device");
        int index = 0;
        if (device.size() > 5) {
            try {
                index = std::stoi(device.substr(5));
            } catch (const std::exception&) {
                fail(where, "device '" + device + "' is not cpu, cuda or cuda:N");
            }
        }
        if (index < 0 || index >= static_cast<int>(torch::cuda::device_count()))
            fail(where, "device '" + device + "' does not exist (" + std::to_string(torch::cuda::device_count()) +
                            " CUDA device(s))");
        return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    fail(where, "device '" + device + "' is not auto, cpu, cuda or cuda:N");
}

c10::ScalarType resolve_precision(const std::string& precision, const c10::Device& device, const std::string& where,
                                  std::string* why, bool full_finetune) {
    if (precision != "auto" && precision != "fp32" && precision != "bf16")
        fail(where, "precision '" + precision + "' is not auto, fp32 or bf16");
    return precision_is_bf16(precision, device.is_cuda(), full_finetune, why) ? c10::kBFloat16 : c10::kFloat;
}

}  // namespace droplora::model
