// Loads a Hugging Face model folder (config.json + model.safetensors or a
// sharded index) into a LlamaModel on a device and dtype. Every expected tensor
// must be present with the shape config.json implies; an error names the file
// and the tensor.
#pragma once

#include <functional>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "model/llama.h"

namespace droplora::model {

struct LoadOptions {
    c10::Device device = c10::Device(c10::kCPU);
    c10::ScalarType dtype = c10::kFloat;  // weights' dtype on the device (fp32 on CPU, bf16 on CUDA)
    std::function<void(const std::string&)> log;  // notes such as ignored tensors
};

LlamaModel load_llama(const std::string& model_dir, const LoadOptions& options = {});

// Picks the device / dtype a RunConfig's `device` and `precision` mean here:
// auto → CUDA if available, else CPU; precision auto → bf16 frozen weights on
// CUDA and on a CPU whose feature flags say it multiplies bf16 natively
// (AVX512-BF16 or AMX-BF16: common/cpu_features.h), fp32 on other CPUs.
// Adapters, optimizer state, norms' statistics, softmax and the loss stay fp32
// either way; auto keeps full fine-tuning fp32. The rule itself is
// precision_is_bf16 (common/cpu_features.h). `why`, when given, says what was
// chosen and why (for the log).
c10::Device resolve_device(const std::string& device, const std::string& where);
c10::ScalarType resolve_precision(const std::string& precision, const c10::Device& device, const std::string& where,
                                  std::string* why = nullptr, bool full_finetune = false);

}  // namespace droplora::model
