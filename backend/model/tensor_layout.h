// The tensors a config.json implies, by Hugging Face name and shape
// (docs/formats.md §1, docs/model-architectures.md), known from the config
// alone: the loader compares them with the safetensors headers before any
// weight memory is allocated. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/llama_config.h"

namespace droplora::model {

struct TensorSpec {
    std::string name;            // "model.layers.0.self_attn.q_proj.weight"
    std::vector<int64_t> shape;  // PyTorch [out, in]
};

// model.embed_tokens.weight, model.norm.weight and (untied) lm_head.weight.
std::vector<TensorSpec> global_tensor_specs(const LlamaConfig& cfg);
// Every tensor of decoder layer `layer`: norms, projections (+ biases), Qwen3's q/k norms.
std::vector<TensorSpec> layer_tensor_specs(const LlamaConfig& cfg, int64_t layer);

}  // namespace droplora::model
