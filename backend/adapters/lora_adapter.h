// LoRA and DropLoRA adapters for one frozen linear W [out, in].
//
//   Δh = s · B · ( m ⊙ A · drop(x) ) / keep          A [r, in], B [out, r]
//
//   s     = alpha / r, or alpha / √r with rsLoRA (PEFT's `scaling`)
//   drop  = PEFT's lora_dropout on the input (inverted dropout)
//   m     = DropLoRA's pruning mask on the rank dimension, keep = E[m]:
//     none     m = 1                          (plain LoRA, and every adapter at eval)
//     step     m ~ Bernoulli(1−p)^r, one draw per optimizer step, shared by every
//              token and micro-batch of that step (the paper's equation); keep = 1−p
//     token    m ~ Bernoulli(1−p)^(tokens×r), nn.Dropout on A·x as in the
//              reference code; keep = 1−p
//     learned  per-channel logits ℓ; the hard mask keeps the ⌈(1−p)·r⌉ largest
//              logits, gradients reach ℓ through the straight-through estimator
//              m = hard + σ(ℓ) − sg(σ(ℓ)); keep = kept/r (the reference code's
//              dynamic_pruning). This mask is also applied at evaluation, so
//              export folds it into B: B' = B · diag(hard) · r/kept.
//
// A is kaiming-uniform(a=√5) and B zero, as PEFT initialises them, so a fresh
// adapter changes nothing. At inference nothing random is applied and ΔW = s·B'·A
// merges into W like any LoRA.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

#include "model/linear.h"

namespace droplora::adapters {

enum class MaskMode { None, Step, Token, Learned };

MaskMode parse_mask_mode(const std::string& s, const std::string& where);
const char* mask_mode_name(MaskMode m);

struct LoraOptions {
    int64_t rank = 16;
    double alpha = 32;
    bool rslora = false;
    double dropout = 0.0;    // on the input x
    double drop_rate = 0.0;  // p, on the rank channels; 0 = plain LoRA
    MaskMode mask = MaskMode::Step;

    double scaling() const;  // s
};

class LoraAdapterImpl : public torch::nn::Module, public model::LinearDelta {
public:
    LoraAdapterImpl(int64_t in_features, int64_t out_features, const LoraOptions& options);

    // x [..., in] → Δh [..., out], in x's dtype.
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor delta(const torch::Tensor& x) override { return forward(x); }
    // y + s·B·(m ⊙ z)/keep with z = A·drop(x): in one addmm (s as its α) when y is fp32.
    torch::Tensor add_delta(const torch::Tensor& y, const torch::Tensor& x) override { return add_up(y, down(x)); }
    torch::Tensor shared_down_weight() override;  // A, unless input dropout applies
    torch::Tensor add_up(const torch::Tensor& y, const torch::Tensor& z) override;

    // Re-initialises A (kaiming-uniform) and B (zero) from the global torch RNG.
    void reset_parameters();
    // step mode: draws this optimizer step's mask (call once per step, before
    // the first micro-batch). Uses the global torch RNG, so runs are seeded.
    void resample_step_mask();
    // step mode: this step's mask ([r], already divided by keep; undefined in
    // other modes), so that data-parallel ranks can share rank 0's draw in place.
    torch::Tensor step_mask() const { return step_mask_; }
    // The mask the last forward used, per channel ([r], float; token mode: the
    // mean over tokens), and how many forwards have been accumulated since the
    // last take; resets the accumulator. For keep-frequency statistics.
    torch::Tensor take_keep_counts(int64_t* samples);

    // B with the learned mode's hard mask and 1/keep folded in (= B otherwise):
    // what ΔW = s·B'·A uses at inference and what is exported.
    torch::Tensor effective_B() const;
    // ΔW = s·B'·A, [out, in], fp32.
    torch::Tensor delta_weight() const override;

    const LoraOptions& options() const { return options_; }
    int64_t in_features() const { return in_features_; }
    int64_t out_features() const { return out_features_; }

    torch::Tensor lora_A;       // [r, in]   trainable
    torch::Tensor lora_B;       // [out, r]  trainable
    torch::Tensor mask_logits;  // [r]       trainable, learned mode only (undefined otherwise)

private:
    torch::Tensor down(const torch::Tensor& x);  // z = A·drop(x) [..., r] fp32
    torch::Tensor masked(const torch::Tensor& z);  // m ⊙ z / keep, counting the channels kept
    torch::Tensor learned_hard_mask() const;  // [r] 0/1, learned mode
    int64_t learned_kept() const;             // ⌈(1−p)·r⌉, at least 1

    LoraOptions options_;
    int64_t in_features_;
    int64_t out_features_;
    torch::Tensor step_mask_;    // [r], already divided by keep; step mode
    torch::Tensor keep_sum_;     // [r] running sum of kept fractions (no grad)
    int64_t keep_samples_ = 0;
};
TORCH_MODULE(LoraAdapter);

// Attaches a fresh adapter to `linear` (fp32, on W's device), replacing any previous one.
LoraAdapter attach_lora(model::LinearImpl& linear, const LoraOptions& options);
// The LoRA adapter hanging on `linear`, or an empty holder (`is_empty()`) when none.
LoraAdapter lora_of(const model::LinearImpl& linear);

}  // namespace droplora::adapters
