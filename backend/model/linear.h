// A frozen linear layer that an adapter can hang on:  y = x·Wᵀ (+ b) + Δ(x).
// W is stored [out, in] as in PyTorch / safetensors. The base weight keeps its
// dtype (fp32 on CPU, bf16 on CUDA) and receives no gradient unless the run
// trains all parameters (method: full).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "adapters/lora_adapter.h"

namespace droplora::model {

class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in_features, int64_t out_features, bool with_bias);

    torch::Tensor forward(const torch::Tensor& x);  // [..., in] → [..., out]

    // Attaches a fresh adapter (fp32, on W's device). Replaces any previous one.
    adapters::LoraAdapter attach_adapter(const adapters::LoraOptions& options);
    void remove_adapter();
    bool has_adapter() const { return !adapter.is_empty(); }
    // W += s·B'·A in fp32, cast back to W's dtype; the adapter is removed.
    void merge_adapter();

    int64_t in_features() const { return weight.size(1); }
    int64_t out_features() const { return weight.size(0); }

    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out] or undefined
    adapters::LoraAdapter adapter{nullptr};
};
TORCH_MODULE(Linear);

}  // namespace droplora::model
