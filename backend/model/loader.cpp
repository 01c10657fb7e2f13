#include "model/loader.h"

#include <filesystem>
#include <set>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "common/error.h"
#include "io/checkpoint_files.h"
#include "io/safetensors_torch.h"

namespace droplora::model {

namespace {

std::string shape_str(at::IntArrayRef s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

}  // namespace

LlamaModel load_llama(const std::string& model_dir, const LoadOptions& options) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(model_dir)) fail(model_dir, "not a folder (expected a Hugging Face model folder)");
    const LlamaConfig cfg = LlamaConfig::from_file((fs::path(model_dir) / "config.json").string());
    const io::CheckpointFiles ckpt = io::CheckpointFiles::open(model_dir);

    LlamaModel model(cfg);
    torch::NoGradGuard no_grad;
    std::set<std::string> used;
    for (auto& [name, target] : model->hf_state()) {
        const io::SafetensorsFile* file = nullptr;
        const io::TensorInfo* info = ckpt.find(name, &file);
        if (!info) fail(model_dir, "tensor '" + name + "' is missing from the checkpoint");
        if (at::IntArrayRef(info->shape) != target.sizes())
            fail(file->path(), "tensor '" + name + "' has shape " + shape_str(info->shape) + " but config.json implies " +
                                   shape_str(target.sizes()));
        target.set_data(io::load_tensor(*file, *info).to(options.device, options.dtype));
        used.insert(name);
    }
    model->to(options.device);  // buffers (inv_freq) follow; weights are already there
    int64_t ignored = 0;
    std::string example;
    for (const auto& name : ckpt.names()) {
        if (used.count(name)) continue;
        // Old checkpoints carry RoPE buffers; tied models may still store lm_head.
        const bool harmless = name.find("rotary_emb.inv_freq") != std::string::npos ||
                              (cfg.tie_word_embeddings && name == "lm_head.weight");
        if (!harmless && example.empty()) example = name;
        ++ignored;
    }
    if (!example.empty())
        fail(model_dir, "checkpoint holds tensor '" + example + "' that a " + cfg.architecture +
                            " with this config.json does not have (wrong architecture or config?)");
    if (ignored && options.log) options.log("ignored " + std::to_string(ignored) + " unused tensor(s) in the checkpoint");
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

c10::ScalarType resolve_precision(const std::string& precision, const c10::Device& device, const std::string& where) {
    if (precision == "fp32") return c10::kFloat;
    if (precision == "bf16") return c10::kBFloat16;
    if (precision == "auto") return device.is_cuda() ? c10::kBFloat16 : c10::kFloat;
    fail(where, "precision '" + precision + "' is not auto, fp32 or bf16");
}

}  // namespace droplora::model
