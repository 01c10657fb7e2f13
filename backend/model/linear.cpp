#include "model/linear.h"

#include <torch/torch.h>

namespace droplora::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
    weight = register_parameter("weight", torch::zeros({out_features, in_features}), /*requires_grad=*/false);
    if (with_bias) bias = register_parameter("bias", torch::zeros({out_features}), /*requires_grad=*/false);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    torch::Tensor y = torch::nn::functional::linear(x, weight, bias.defined() ? bias : torch::Tensor());
    if (!adapter.is_empty()) y = y + adapter->forward(x);
    return y;
}

adapters::LoraAdapter LinearImpl::attach_adapter(const adapters::LoraOptions& options) {
    remove_adapter();
    adapter = register_module("adapter", adapters::LoraAdapter(in_features(), out_features(), options));
    adapter->to(weight.device(), torch::kFloat32);
    adapter->train(is_training());
    return adapter;
}

void LinearImpl::remove_adapter() {
    if (adapter.is_empty()) return;
    unregister_module("adapter");
    adapter = nullptr;
}

void LinearImpl::merge_adapter() {
    if (adapter.is_empty()) return;
    torch::NoGradGuard no_grad;
    auto merged = weight.to(torch::kFloat32) + adapter->delta_weight().to(weight.device());
    weight.copy_(merged.to(weight.scalar_type()));
    remove_adapter();
}

}  // namespace droplora::model
