// A frozen linear layer that an adapter can hang on:  y = x·Wᵀ (+ b) + Δ(x).
// W is stored [out, in] as in PyTorch / safetensors. The base weight keeps its
// dtype (fp32 on CPU, bf16 on CUDA) and receives no gradient unless the run
// trains all parameters (method: full).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

namespace droplora::model {

// What an adapter adds to a frozen linear layer. The model knows only this
// interface; LoRA and DropLoRA implement it in adapters/, which sits above the
// model in the layer order (docs/architecture.md).
class LinearDelta {
public:
    virtual ~LinearDelta() = default;
    virtual torch::Tensor delta(const torch::Tensor& x) = 0;  // [..., in] → [..., out], x's dtype
    virtual torch::Tensor delta_weight() const = 0;           // ΔW [out, in], fp32, nothing masked
};

class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in_features, int64_t out_features, bool with_bias);

    torch::Tensor forward(const torch::Tensor& x);  // [..., in] → [..., out]

    // Hangs `module` (a torch module that implements LinearDelta) on this layer
    // as its submodule "adapter", moved to W's device in fp32. Replaces any previous one.
    void attach(std::shared_ptr<torch::nn::Module> module);
    void remove_adapter();
    bool has_adapter() const { return delta_ != nullptr; }
    const std::shared_ptr<torch::nn::Module>& adapter_module() const { return adapter_; }
    // W += s·B'·A in fp32, cast back to W's dtype; the adapter is removed.
    void merge_adapter();

    int64_t in_features() const { return weight.size(1); }
    int64_t out_features() const { return weight.size(0); }

    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out] or undefined

private:
    std::shared_ptr<torch::nn::Module> adapter_;
    LinearDelta* delta_ = nullptr;  // adapter_, seen through its interface
};
TORCH_MODULE(Linear);

}  // namespace droplora::model
