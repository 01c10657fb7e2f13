// The LLaMA-family decoder (LlamaForCausalLM / MistralForCausalLM /
// Qwen2ForCausalLM / Qwen3ForCausalLM) in LibTorch, with Hugging Face's
// semantics (docs/formats.md §1, docs/model-architectures.md):
//
//   h0 = embed_tokens[ids]                                          [B, T, H]
//   per layer:  a = h + o_proj(attn(rms_norm(h)))                   [B, T, H]
//               h = a + down_proj(silu(gate_proj(n)) · up_proj(n)),  n = rms_norm(a)
//   logits = lm_head(rms_norm(h)) in fp32                            [B, T, V]
//
// attn: q [B, heads, T, d], k/v [B, kv_heads, T, d] (Qwen3: each head of q and
// k RMS-normalised over d first) with rotate-half RoPE on q and k, k/v
// shared by heads/kv_heads query heads (GQA), causal + padding mask (Mistral: + the
// sliding window, key j visible from query i when i − j < W), softmax in fp32.
// Biases: q/k/v and o as config.json says (Qwen2: q/k/v only). Every projection is a model::Linear an adapter can hang on,
// addressable by its Hugging Face name (model.layers.N.self_attn.q_proj, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

#include "model/linear.h"
#include "model/llama_config.h"

namespace droplora::model {

// Key/value cache for incremental decoding: per layer [B, kv_heads, T_past, d].
struct KVCache {
    std::vector<torch::Tensor> keys;
    std::vector<torch::Tensor> values;
    int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
};

// y = w · cast_back(x32 · rsqrt(mean(x32²) + eps)), statistics in fp32.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// inv_freq[i] = 1/θ^(2i/d) with rope_scaling applied, fp32, [d/2].
torch::Tensor rope_inv_freq(const LlamaConfig& cfg);

class AttentionImpl : public torch::nn::Module {
public:
    explicit AttentionImpl(const LlamaConfig& cfg);
    // x [B, T, H]; cos/sin [T, d]; mask [B, 1, T, T_total] additive (fp32) or undefined.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask, KVCache* cache, int64_t layer);

    Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
    torch::Tensor q_norm, k_norm;  // [d], Qwen3 only (undefined otherwise)
    ProjectionGroup qkv;           // q, k, v: one product of x once fused

private:
    int64_t heads_, kv_heads_, head_dim_;
    double eps_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    explicit MlpImpl(const LlamaConfig& cfg);
    torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) · up(x))
    Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
    ProjectionGroup gate_up;  // gate, up: one product of x once fused
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
public:
    explicit DecoderLayerImpl(const LlamaConfig& cfg);
    torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask, KVCache* cache, int64_t layer);

    Attention self_attn{nullptr};
    Mlp mlp{nullptr};
    torch::Tensor input_layernorm;           // [H]
    torch::Tensor post_attention_layernorm;  // [H]

private:
    double eps_;
};
TORCH_MODULE(DecoderLayer);

class LlamaModelImpl : public torch::nn::Module {
public:
    explicit LlamaModelImpl(const LlamaConfig& cfg);

    // input_ids [B, T] int64; attention_mask [B, T] (1 = token, 0 = padding) or
    // undefined. With a cache, positions continue from cache->length() and the
    // new keys/values are appended. Returns logits [B, T, V] in fp32.
    torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                          KVCache* cache = nullptr);

    // The hidden states before lm_head, [B, T, H] (for chunked losses).
    torch::Tensor hidden_states(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                KVCache* cache);
    torch::Tensor lm_head_weight() const;  // embed_tokens when tied

    // Every projection by Hugging Face name, in layer order:
    // "model.layers.N.self_attn.{q,k,v,o}_proj", "model.layers.N.mlp.{gate,up,down}_proj".
    std::vector<std::pair<std::string, Linear>> named_linears() const;
    // The Hugging Face tensor names and the tensors that hold them.
    std::vector<std::pair<std::string, torch::Tensor>> hf_state() const;

    // Every layer's q/k/v and gate/up weights as rows of one tensor each (model/linear.h
    // ProjectionGroup), for one GEMM per group. Call once the weights are loaded and on their
    // device and dtype (load_llama does); names, adapters and export are unchanged.
    void fuse_projections();

    const LlamaConfig& config() const { return cfg_; }
    // Recompute each layer's activations in the backward pass (training only):
    // memory ∝ layers × one activation instead of all of them, ~1.3× the compute.
    void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }

    torch::Tensor embed_tokens;  // [V, H]
    torch::Tensor norm;          // [H]
    Linear lm_head{nullptr};     // absent when tied
    std::vector<DecoderLayer> layers;

private:
    LlamaConfig cfg_;
    torch::Tensor inv_freq_;  // [d/2] fp32
    bool gradient_checkpointing_ = false;
};
TORCH_MODULE(LlamaModel);

// Mean next-token cross-entropy (labels shifted inside, as transformers does):
// logits [B, T, V], labels [B, T] with −100 = ignore. Returns a 0-dim fp32 tensor
// (the mean over counted tokens) and the count through `counted` if given.
torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t* counted = nullptr);
// Sum instead of mean (for exact means over several batches/windows).
torch::Tensor causal_lm_loss_sum(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace droplora::model
