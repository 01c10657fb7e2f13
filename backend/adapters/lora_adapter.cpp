#include "adapters/lora_adapter.h"
#include "adapters/scaling.h"

#include <cmath>

#include <torch/nn/init.h>
#include <torch/torch.h>

#include "common/error.h"
#include "model/activation_checkpoint.h"

namespace droplora::adapters {

MaskMode parse_mask_mode(const std::string& s, const std::string& where) {
    if (s == "none") return MaskMode::None;
    if (s == "step") return MaskMode::Step;
    if (s == "token") return MaskMode::Token;
    if (s == "learned") return MaskMode::Learned;
    fail(where, "mask mode '" + s + "' is not one of step, token, learned");
}

const char* mask_mode_name(MaskMode m) {
    switch (m) {
        case MaskMode::None: return "none";
        case MaskMode::Step: return "step";
        case MaskMode::Token: return "token";
        case MaskMode::Learned: return "learned";
    }
    return "?";
}

double LoraOptions::scaling() const {
    return lora_scaling(alpha, rank, rslora);
}

LoraAdapterImpl::LoraAdapterImpl(int64_t in_features, int64_t out_features, const LoraOptions& options)
    : options_(options), in_features_(in_features), out_features_(out_features) {
    if (options_.rank < 1) fail("adapter", "rank must be ≥ 1");
    if (options_.drop_rate <= 0.0) options_.mask = MaskMode::None;
    lora_A = register_parameter("lora_A", torch::empty({options_.rank, in_features}));
    lora_B = register_parameter("lora_B", torch::zeros({out_features, options_.rank}));
    if (options_.mask == MaskMode::Learned)
        mask_logits = register_parameter("mask_logits", torch::zeros({options_.rank}));
    keep_sum_ = register_buffer("keep_sum", torch::zeros({options_.rank}));
    reset_parameters();
}

void LoraAdapterImpl::reset_parameters() {
    torch::NoGradGuard no_grad;
    // PEFT: nn.init.kaiming_uniform_(lora_A, a=√5), i.e. U(−b, b) with b = 1/√in.
    torch::nn::init::kaiming_uniform_(lora_A, std::sqrt(5.0));
    lora_B.zero_();
    if (mask_logits.defined()) mask_logits.normal_(0.0, 0.01);  // distinct logits: the top-k is defined
}

void LoraAdapterImpl::resample_step_mask() {
    if (options_.mask != MaskMode::Step) return;
    const double keep = 1.0 - options_.drop_rate;
    auto opts = lora_A.options().dtype(torch::kFloat32).requires_grad(false);
    step_mask_ = torch::bernoulli(torch::full({options_.rank}, keep, opts)).div_(keep);
}

int64_t LoraAdapterImpl::learned_kept() const {
    const int64_t r = options_.rank;
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - options_.drop_rate) * r - 1e-9)));
}

torch::Tensor LoraAdapterImpl::learned_hard_mask() const {
    const int64_t r = options_.rank;
    auto top = std::get<1>(mask_logits.detach().topk(learned_kept()));
    return torch::zeros({r}, mask_logits.options().requires_grad(false)).index_fill_(0, top, 1.0);
}

torch::Tensor LoraAdapterImpl::down(const torch::Tensor& x) {
    torch::Tensor in = x.to(lora_A.scalar_type());  // adapters compute in fp32 (bf16 base weights)
    if (is_training() && options_.dropout > 0.0) in = torch::dropout(in, options_.dropout, true);
    return torch::matmul(in, lora_A.t());  // [..., r]
}

torch::Tensor LoraAdapterImpl::shared_down_weight() {
    // PEFT's input dropout draws its own mask per module: then x·Aᵀ is not a shared product.
    if (is_training() && options_.dropout > 0.0) return {};
    return lora_A;
}

torch::Tensor LoraAdapterImpl::masked(const torch::Tensor& z) {
    torch::Tensor out = z;
    torch::Tensor kept;  // [r] fraction of this forward's tokens that kept each channel
    if (options_.mask == MaskMode::Learned) {
        // Applied in training and evaluation alike: the learned mask is part of the model.
        auto hard = learned_hard_mask();
        auto soft = torch::sigmoid(mask_logits);
        auto m = hard + soft - soft.detach();  // straight-through: forward hard, backward σ'
        const double keep = static_cast<double>(learned_kept()) / static_cast<double>(options_.rank);
        out = z * (m / keep);
        kept = hard;
    } else if (is_training() && options_.mask == MaskMode::Step) {
        if (!step_mask_.defined()) resample_step_mask();
        out = z * step_mask_;
        kept = step_mask_ > 0;
    } else if (is_training() && options_.mask == MaskMode::Token) {
        auto keep_mask = torch::bernoulli(torch::full_like(z, 1.0 - options_.drop_rate));  // [..., r]
        out = z * keep_mask / (1.0 - options_.drop_rate);
        kept = keep_mask.reshape({-1, options_.rank}).mean(0);
    }
    if (is_training() && !model::recomputing_activations()) {
        torch::NoGradGuard no_grad;
        if (kept.defined())
            keep_sum_.add_(kept);
        else
            keep_sum_.add_(1.0);
        ++keep_samples_;
    }
    return out;
}

torch::Tensor LoraAdapterImpl::forward(const torch::Tensor& x) {
    return (torch::matmul(masked(down(x)), lora_B.t()) * options_.scaling()).to(x.scalar_type());  // [..., out]
}

torch::Tensor LoraAdapterImpl::add_up(const torch::Tensor& y, const torch::Tensor& z) {
    const double s = options_.scaling();
    auto u = masked(z);  // [..., r]
    if (y.scalar_type() != u.scalar_type())  // bf16 base: Δ in fp32, cast as it joins y
        return y + (torch::matmul(u, lora_B.t()) * s).to(y.scalar_type());
    // y + s·u·Bᵀ in one GEMM: no separate [..., out] pass for the scale or the sum.
    auto y2 = y.reshape({-1, out_features_});
    return torch::addmm(y2, u.reshape({-1, options_.rank}), lora_B.t(), /*beta=*/1.0, /*alpha=*/s).view(y.sizes());
}

torch::Tensor LoraAdapterImpl::take_keep_counts(int64_t* samples) {
    torch::NoGradGuard no_grad;
    *samples = keep_samples_;
    auto out = keep_sum_.clone();
    keep_sum_.zero_();
    keep_samples_ = 0;
    return out;
}

torch::Tensor LoraAdapterImpl::effective_B() const {
    torch::NoGradGuard no_grad;
    if (options_.mask != MaskMode::Learned) return lora_B.detach();
    auto hard = learned_hard_mask();
    const double keep = static_cast<double>(learned_kept()) / static_cast<double>(options_.rank);
    return lora_B.detach() * (hard / keep).unsqueeze(0);
}

torch::Tensor LoraAdapterImpl::delta_weight() const {
    torch::NoGradGuard no_grad;
    return torch::matmul(effective_B().to(torch::kFloat32), lora_A.detach().to(torch::kFloat32)) *
           options_.scaling();
}

LoraAdapter attach_lora(model::LinearImpl& linear, const LoraOptions& options) {
    LoraAdapter adapter(linear.in_features(), linear.out_features(), options);
    linear.attach(adapter.ptr());
    return adapter;
}

LoraAdapter lora_of(const model::LinearImpl& linear) {
    return LoraAdapter(std::dynamic_pointer_cast<LoraAdapterImpl>(linear.adapter_module()));
}

}  // namespace droplora::adapters
