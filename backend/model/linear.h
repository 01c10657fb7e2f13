// A frozen linear layer that an adapter can hang on:  y = x·Wᵀ (+ b) + Δ(x).
// W is stored [out, in] as in PyTorch / safetensors. The base weight keeps its
// dtype (fp32 on CPU, bf16 on CUDA) and receives no gradient unless the run
// trains all parameters (method: full).
//
// ProjectionGroup computes several such layers that read the same input (q, k,
// v; gate, up) as one product x·[W₁; W₂; …]ᵀ, and their adapters' input
// products as one x·[A₁; A₂; …]ᵀ; each layer keeps its own weight tensor (a
// view into the group's), so loading, adapters, merging and export still see
// every projection under its Hugging Face name.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

namespace droplora::model {

// What an adapter adds to a frozen linear layer. The model knows only this
// interface; LoRA and DropLoRA implement it in adapters/, which sits above the
// model in the layer order (docs/architecture.md).
class LinearDelta {
public:
    virtual ~LinearDelta() = default;
    virtual torch::Tensor delta(const torch::Tensor& x) = 0;  // [..., in] → [..., out], x's dtype
    virtual torch::Tensor delta_weight() const = 0;           // ΔW [out, in], fp32, nothing masked
    // y + Δ(x), y [..., out] the frozen product (an adapter may fold the sum into its last GEMM).
    virtual torch::Tensor add_delta(const torch::Tensor& y, const torch::Tensor& x) { return y + delta(x); }

    // Sharing the input product: an adapter whose Δ(x) = up(x₃₂·Dᵀ), with x₃₂ = x in fp32 and nothing
    // else applied to x first, returns D [r, in] (fp32, the live parameter) here, and
    // add_up(y, z) = y + up(z) for z = x₃₂·Dᵀ [..., r]. Undefined when this forward transforms x on its
    // own (PEFT's input dropout in training), and then add_up is not called.
    virtual torch::Tensor shared_down_weight() { return {}; }
    virtual torch::Tensor add_up(const torch::Tensor& y, const torch::Tensor& z) {
        (void)z;
        return y;
    }
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
    LinearDelta* delta() const { return delta_; }

    int64_t in_features() const { return weight.size(1); }
    int64_t out_features() const { return weight.size(0); }

    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out] or undefined

private:
    std::shared_ptr<torch::nn::Module> adapter_;
    LinearDelta* delta_ = nullptr;  // adapter_, seen through its interface
};
TORCH_MODULE(Linear);

class ProjectionGroup {
public:
    ProjectionGroup() = default;
    explicit ProjectionGroup(std::vector<Linear> parts) : parts_(std::move(parts)) {}

    // Makes the parts' weights (and biases) views into one [Σ out, in] tensor. Call after the weights
    // are loaded and on their device and dtype; a later `to()` or set_data undoes the sharing and
    // forward() then falls back to one product per part. Parts whose dtypes, devices, input sizes or
    // bias presence differ stay apart.
    void fuse();
    // Every part's output for x [..., in], adapters included: [..., out_i] each, in order.
    std::vector<torch::Tensor> forward(const torch::Tensor& x);
    // Whether forward() takes one product (weights still shared, and frozen: method full trains each
    // weight on its own). For tests and logs.
    bool fused() const;

private:
    std::vector<Linear> parts_;
    std::vector<int64_t> outs_;
    torch::Tensor weight_;  // [Σ out, in], each part's weight a view of its rows
    torch::Tensor bias_;    // [Σ out] or undefined
};

}  // namespace droplora::model
