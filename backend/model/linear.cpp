#include "model/linear.h"

#include <torch/torch.h>

namespace droplora::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
    weight = register_parameter("weight", torch::zeros({out_features, in_features}), /*requires_grad=*/false);
    if (with_bias) bias = register_parameter("bias", torch::zeros({out_features}), /*requires_grad=*/false);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    torch::Tensor y = torch::nn::functional::linear(x, weight, bias.defined() ? bias : torch::Tensor());
    return delta_ ? delta_->add_delta(y, x) : y;
}

void LinearImpl::attach(std::shared_ptr<torch::nn::Module> module) {
    auto* delta = dynamic_cast<LinearDelta*>(module.get());
    TORCH_CHECK(delta != nullptr, "Linear::attach: the module is not a LinearDelta");
    remove_adapter();
    adapter_ = register_module("adapter", std::move(module));
    adapter_->to(weight.device(), torch::kFloat32);
    adapter_->train(is_training());
    delta_ = delta;
}

void LinearImpl::remove_adapter() {
    if (!adapter_) return;
    unregister_module("adapter");
    adapter_.reset();
    delta_ = nullptr;
}

void LinearImpl::merge_adapter() {
    if (!delta_) return;
    torch::NoGradGuard no_grad;
    auto merged = weight.to(torch::kFloat32) + delta_->delta_weight().to(weight.device());
    weight.copy_(merged.to(weight.scalar_type()));
    remove_adapter();
}

void ProjectionGroup::fuse() {
    outs_.clear();
    weight_ = torch::Tensor();
    bias_ = torch::Tensor();
    if (parts_.size() < 2) return;
    const torch::Tensor& w0 = parts_[0]->weight;
    const bool biased = parts_[0]->bias.defined();
    for (const auto& p : parts_) {
        const bool alike = p->weight.scalar_type() == w0.scalar_type() && p->weight.device() == w0.device() &&
                           p->in_features() == parts_[0]->in_features() && p->bias.defined() == biased;
        if (!alike) return;  // stays apart: forward() takes one product per part
    }
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> weights, biases;
    for (const auto& p : parts_) {
        weights.push_back(p->weight);
        if (biased) biases.push_back(p->bias);
        outs_.push_back(p->out_features());
    }
    weight_ = torch::cat(weights, 0);
    if (biased) bias_ = torch::cat(biases, 0);
    int64_t row = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
        parts_[i]->weight.set_data(weight_.narrow(0, row, outs_[i]));
        if (biased) parts_[i]->bias.set_data(bias_.narrow(0, row, outs_[i]));
        row += outs_[i];
    }
}

bool ProjectionGroup::fused() const {
    if (!weight_.defined()) return false;
    // Each part must still be rows [row, row + out) of weight_, frozen: a `to()` or set_data since
    // fuse() gave a part storage of its own, and a trained weight (method: full) needs its own gradient.
    const auto* base = static_cast<const char*>(weight_.data_ptr());
    const auto* bias_base = bias_.defined() ? static_cast<const char*>(bias_.data_ptr()) : nullptr;
    const int64_t in = weight_.size(1), item = static_cast<int64_t>(weight_.element_size());
    int64_t row = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
        const torch::Tensor& w = parts_[i]->weight;
        if (w.requires_grad() || w.scalar_type() != weight_.scalar_type() || w.size(0) != outs_[i] ||
            w.data_ptr() != base + row * in * item || !w.is_contiguous())
            return false;
        const torch::Tensor& b = parts_[i]->bias;
        if (bias_base && (b.requires_grad() || b.data_ptr() != bias_base + row * item)) return false;
        row += outs_[i];
    }
    return true;
}

std::vector<torch::Tensor> ProjectionGroup::forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> ys;
    if (!fused()) {
        // Storage of their own since fuse(): the shared copy is only memory now.
        if (weight_.defined() && !parts_[0]->weight.is_alias_of(weight_)) weight_ = bias_ = torch::Tensor();
        for (auto& p : parts_) ys.push_back(p->forward(x));
        return ys;
    }
    // [..., Σ out] → one [..., out_i] per part (split's backward concatenates the parts' gradients).
    ys = torch::nn::functional::linear(x, weight_, bias_).split_with_sizes(outs_, -1);

    // The adapters' input products x·Aᵢᵀ as one x·[A₁; A₂; …]ᵀ when every adapter here allows it.
    std::vector<torch::Tensor> downs;
    std::vector<int64_t> ranks;
    bool shared = true;
    for (const auto& p : parts_) {
        if (!p->delta()) continue;
        torch::Tensor d = p->delta()->shared_down_weight();
        shared = shared && d.defined() && (downs.empty() || (d.scalar_type() == downs[0].scalar_type() &&
                                                             d.device() == downs[0].device()));
        if (!shared) break;
        downs.push_back(d);
        ranks.push_back(d.size(0));
    }
    if (shared && downs.size() >= 2) {
        auto zs = torch::matmul(x.to(downs[0].scalar_type()), torch::cat(downs, 0).t()).split_with_sizes(ranks, -1);
        size_t k = 0;
        for (size_t i = 0; i < parts_.size(); ++i)
            if (parts_[i]->delta()) ys[i] = parts_[i]->delta()->add_up(ys[i], zs[k++]);
    } else {
        for (size_t i = 0; i < parts_.size(); ++i)
            if (parts_[i]->delta()) ys[i] = parts_[i]->delta()->add_delta(ys[i], x);
    }
    return ys;
}

}  // namespace droplora::model
