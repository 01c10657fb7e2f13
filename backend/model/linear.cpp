#include "model/linear.h"

#include <torch/torch.h>

namespace droplora::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
    weight = register_parameter("weight", torch::zeros({out_features, in_features}), /*requires_grad=*/false);
    if (with_bias) bias = register_parameter("bias", torch::zeros({out_features}), /*requires_grad=*/false);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    torch::Tensor y = torch::nn::functional::linear(x, weight, bias.defined() ? bias : torch::Tensor());
    if (delta_) y = y + delta_->delta(x);
    return y;
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

}  // namespace droplora::model
