#include "model/llama.h"

#include "model/activation_checkpoint.h"

#include <cmath>

#include <torch/torch.h>
#include <torch/version.h>

namespace droplora::model {

namespace F = torch::nn::functional;

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    auto x32 = x.to(torch::kFloat32);
    auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * normed.to(x.scalar_type());  // cast back before the weight multiply, as HF does
}

torch::Tensor rope_inv_freq(const LlamaConfig& cfg) {
    const int64_t d = cfg.head_dim;
    auto idx = torch::arange(0, d, 2, torch::kInt64).to(torch::kFloat32);
    auto inv = 1.0 / torch::pow(torch::tensor(cfg.rope_theta, torch::kFloat32), idx / static_cast<double>(d));
    const RopeScaling& rs = cfg.rope_scaling;
    if (rs.type == RopeType::Linear) {
        inv = inv / rs.factor;
    } else if (rs.type == RopeType::Llama3) {
        const double ctx = static_cast<double>(rs.original_max_position_embeddings);
        const double low_wavelen = ctx / rs.low_freq_factor;
        const double high_wavelen = ctx / rs.high_freq_factor;
        auto wavelen = 2.0 * M_PI / inv;
        // long wavelengths are slowed by `factor`, short ones kept, the band between blended
        auto scaled = torch::where(wavelen > low_wavelen, inv / rs.factor, inv);
        auto smooth = (ctx / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        auto blended = (1.0 - smooth) * scaled / rs.factor + smooth * scaled;
        auto medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen);
        inv = torch::where(medium, blended, scaled);
    }
    return inv;
}

namespace {

// rotate_half(x) = cat(−x[d/2:], x[:d/2])
torch::Tensor rotate_half(const torch::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// x [B, n, T, d]; cos/sin [T, d]
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
    return x * cos + rotate_half(x) * sin;
}

}  // namespace

AttentionImpl::AttentionImpl(const LlamaConfig& cfg)
    : heads_(cfg.num_attention_heads), kv_heads_(cfg.num_key_value_heads), head_dim_(cfg.head_dim),
      eps_(cfg.rms_norm_eps) {
    const int64_t H = cfg.hidden_size;
    q_proj = register_module("q_proj", Linear(H, heads_ * head_dim_, cfg.qkv_bias));
    k_proj = register_module("k_proj", Linear(H, kv_heads_ * head_dim_, cfg.qkv_bias));
    v_proj = register_module("v_proj", Linear(H, kv_heads_ * head_dim_, cfg.qkv_bias));
    o_proj = register_module("o_proj", Linear(heads_ * head_dim_, H, cfg.o_bias));
    if (cfg.qk_norm) {
        q_norm = register_parameter("q_norm", torch::ones({head_dim_}), false);
        k_norm = register_parameter("k_norm", torch::ones({head_dim_}), false);
    }
    qkv = ProjectionGroup({q_proj, k_proj, v_proj});
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, KVCache* cache, int64_t layer) {
    const int64_t B = x.size(0), T = x.size(1);
    auto qkv_out = qkv.forward(x);                                       // [B, T, h·d], [B, T, kv·d] ×2
    auto q = qkv_out[0].reshape({B, T, heads_, head_dim_});     // [B, T, h, d]
    auto k = qkv_out[1].reshape({B, T, kv_heads_, head_dim_});  // [B, T, kv, d]
    if (q_norm.defined()) {  // Qwen3: every head normalised over d, before RoPE
        q = rms_norm(q, q_norm, eps_);
        k = rms_norm(k, k_norm, eps_);
    }
    q = q.transpose(1, 2);                                                            // [B, h, T, d]
    k = k.transpose(1, 2);                                                            // [B, kv, T, d]
    auto v = qkv_out[2].reshape({B, T, kv_heads_, head_dim_}).transpose(1, 2);  // [B, kv, T, d]
    q = apply_rope(q, cos, sin);
    k = apply_rope(k, cos, sin);
    if (cache) {
        if (static_cast<int64_t>(cache->keys.size()) <= layer) {
            cache->keys.resize(layer + 1);
            cache->values.resize(layer + 1);
        }
        if (cache->keys[layer].defined()) {
            k = torch::cat({cache->keys[layer], k}, 2);
            v = torch::cat({cache->values[layer], v}, 2);
        }
        cache->keys[layer] = k;
        cache->values[layer] = v;
    }
    const int64_t groups = heads_ / kv_heads_;  // query head h reads kv head h / groups (GQA)
    torch::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
    if (groups > 1) {
        k = k.repeat_interleave(groups, 1);
        v = v.repeat_interleave(groups, 1);
    }
    // Fused kernels (flash / memory-efficient on CUDA); the mask is additive.
    out = at::scaled_dot_product_attention(q, k, v, mask.defined() ? mask.to(q.scalar_type()) : mask, 0.0,
                                           /*is_causal=*/false);
#else
    // The `groups` query heads that read one kv head are stacked along the rows, so each (batch, kv
    // head) is one product and k, v are never repeated: q [B, kv, g, T, d] → [B·kv, g·T, d].
    // scores = mask + (q·kᵀ)/√d in one baddbmm: the scale and the mask ride on the product instead of
    // two more passes over the scores (and two more in the backward pass).
    const int64_t Tk = k.size(2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
    auto q3 = q.reshape({B * kv_heads_, groups * T, head_dim_});
    auto kt = k.reshape({B * kv_heads_, Tk, head_dim_}).transpose(1, 2);  // [B·kv, d, Tk]
    torch::Tensor scores;                                                  // [B·kv, g·T, Tk]
    if (mask.defined())
        scores = torch::baddbmm(mask.to(q.scalar_type())
                                    .unsqueeze(1)
                                    .expand({B, kv_heads_, groups, T, Tk})
                                    .reshape({B * kv_heads_, groups * T, Tk}),
                                q3, kt, /*beta=*/1.0, /*alpha=*/scale);
    else
        scores = torch::bmm(q3, kt).mul_(scale);
    auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
    out = torch::bmm(probs, v.reshape({B * kv_heads_, Tk, head_dim_})).view({B, heads_, T, head_dim_});  // [B, h, T, d]
#endif
    out = out.transpose(1, 2).reshape({B, T, heads_ * head_dim_});
    return o_proj->forward(out);
}

MlpImpl::MlpImpl(const LlamaConfig& cfg) {
    gate_proj = register_module("gate_proj", Linear(cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias));
    up_proj = register_module("up_proj", Linear(cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias));
    down_proj = register_module("down_proj", Linear(cfg.intermediate_size, cfg.hidden_size, cfg.mlp_bias));
    gate_up = ProjectionGroup({gate_proj, up_proj});
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
    auto gu = gate_up.forward(x);  // [B, T, I] ×2
    return down_proj->forward(F::silu(gu[0]) * gu[1]);
}

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& cfg) : eps_(cfg.rms_norm_eps) {
    self_attn = register_module("self_attn", Attention(cfg));
    mlp = register_module("mlp", Mlp(cfg));
    input_layernorm = register_parameter("input_layernorm", torch::ones({cfg.hidden_size}), false);
    post_attention_layernorm = register_parameter("post_attention_layernorm", torch::ones({cfg.hidden_size}), false);
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                                        const torch::Tensor& mask, KVCache* cache, int64_t layer) {
    auto a = h + self_attn->forward(rms_norm(h, input_layernorm, eps_), cos, sin, mask, cache, layer);
    return a + mlp->forward(rms_norm(a, post_attention_layernorm, eps_));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& cfg) : cfg_(cfg) {
    embed_tokens = register_parameter("embed_tokens", torch::zeros({cfg.vocab_size, cfg.hidden_size}), false);
    for (int64_t i = 0; i < cfg.num_hidden_layers; ++i)
        layers.push_back(register_module("layers_" + std::to_string(i), DecoderLayer(cfg)));
    norm = register_parameter("norm", torch::ones({cfg.hidden_size}), false);
    if (!cfg.tie_word_embeddings) lm_head = register_module("lm_head", Linear(cfg.hidden_size, cfg.vocab_size, false));
    inv_freq_ = register_buffer("inv_freq", rope_inv_freq(cfg));
}

torch::Tensor LlamaModelImpl::lm_head_weight() const {
    return cfg_.tie_word_embeddings ? embed_tokens : lm_head->weight;
}

torch::Tensor LlamaModelImpl::hidden_states(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                            KVCache* cache) {
    const int64_t B = input_ids.size(0), T = input_ids.size(1);
    const int64_t past = cache ? cache->length() : 0;
    const int64_t total = past + T;
    auto device = input_ids.device();
    auto h = F::embedding(input_ids, embed_tokens);  // [B, T, H]

    // RoPE angles for positions past..total−1, computed in fp32, cast to h's dtype.
    auto pos = torch::arange(past, total, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    auto angles = torch::outer(pos, inv_freq_.to(device));  // [T, d/2]
    auto emb = torch::cat({angles, angles}, -1);            // [T, d]
    auto cos = emb.cos().to(h.scalar_type());
    auto sin = emb.sin().to(h.scalar_type());

    // Additive mask [B, 1, T, total]: causal, plus padded keys, plus (Mistral)
    // the sliding window: key j visible from query i only when i − j < W. A
    // finite minimum (not −inf) keeps fully masked rows finite, as transformers does.
    torch::Tensor mask;
    const bool padded = attention_mask.defined();
    const bool windowed = cfg_.sliding_window && total > *cfg_.sliding_window;
    if (T > 1 || padded || windowed) {
        auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
        auto q_pos = torch::arange(past, total, fopts.dtype(torch::kInt64)).unsqueeze(1);  // [T, 1]
        auto k_pos = torch::arange(0, total, fopts.dtype(torch::kInt64)).unsqueeze(0);     // [1, total]
        auto visible = k_pos <= q_pos;                                                     // [T, total]
        if (windowed) visible = visible & (q_pos - k_pos < *cfg_.sliding_window);
        auto allowed = visible.unsqueeze(0).unsqueeze(0);                                  // [1, 1, T, total]
        if (padded) {
            auto keys_valid = attention_mask.to(device).to(torch::kBool);  // [B, total] (past included)
            if (keys_valid.size(1) != total) keys_valid = keys_valid.narrow(1, keys_valid.size(1) - total, total);
            allowed = allowed & keys_valid.unsqueeze(1).unsqueeze(1);
        }
        const float min_value = std::numeric_limits<float>::lowest();
        mask = torch::zeros(allowed.sizes(), fopts).masked_fill(allowed.logical_not(), min_value);
    }
    const bool checkpoint = gradient_checkpointing_ && is_training() && !cache && torch::GradMode::is_enabled();
    // A checkpointed layer only joins the graph when its input needs a gradient;
    // the frozen embedding's output does not (transformers' enable_input_require_grads).
    if (checkpoint && !h.requires_grad()) h = h.detach().requires_grad_(true);
    for (size_t i = 0; i < layers.size(); ++i)
        h = checkpoint ? checkpointed_layer(*layers[i], h, cos, sin, mask)
                       : layers[i]->forward(h, cos, sin, mask, cache, static_cast<int64_t>(i));
    return rms_norm(h, norm, cfg_.rms_norm_eps);
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                      KVCache* cache) {
    auto h = hidden_states(input_ids, attention_mask, cache);
    torch::Tensor logits = cfg_.tie_word_embeddings ? F::linear(h, embed_tokens) : lm_head->forward(h);
    return logits.to(torch::kFloat32);
}

void LlamaModelImpl::fuse_projections() {
    for (auto& layer : layers) {
        layer->self_attn->qkv.fuse();
        layer->mlp->gate_up.fuse();
    }
}

std::vector<std::pair<std::string, Linear>> LlamaModelImpl::named_linears() const {
    std::vector<std::pair<std::string, Linear>> out;
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        const auto& a = layers[i]->self_attn;
        const auto& m = layers[i]->mlp;
        out.emplace_back(p + "self_attn.q_proj", a->q_proj);
        out.emplace_back(p + "self_attn.k_proj", a->k_proj);
        out.emplace_back(p + "self_attn.v_proj", a->v_proj);
        out.emplace_back(p + "self_attn.o_proj", a->o_proj);
        out.emplace_back(p + "mlp.gate_proj", m->gate_proj);
        out.emplace_back(p + "mlp.up_proj", m->up_proj);
        out.emplace_back(p + "mlp.down_proj", m->down_proj);
    }
    return out;
}

std::vector<std::pair<std::string, torch::Tensor>> LlamaModelImpl::hf_state() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    out.emplace_back("model.embed_tokens.weight", embed_tokens);
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        out.emplace_back(p + "input_layernorm.weight", layers[i]->input_layernorm);
        out.emplace_back(p + "post_attention_layernorm.weight", layers[i]->post_attention_layernorm);
        const auto& a = layers[i]->self_attn;
        if (a->q_norm.defined()) {
            out.emplace_back(p + "self_attn.q_norm.weight", a->q_norm);
            out.emplace_back(p + "self_attn.k_norm.weight", a->k_norm);
        }
    }
    for (const auto& [name, lin] : named_linears()) {
        out.emplace_back(name + ".weight", lin->weight);
        if (lin->bias.defined()) out.emplace_back(name + ".bias", lin->bias);
    }
    out.emplace_back("model.norm.weight", norm);
    if (!cfg_.tie_word_embeddings) out.emplace_back("lm_head.weight", lm_head->weight);
    return out;
}

torch::Tensor causal_lm_loss_sum(const torch::Tensor& logits, const torch::Tensor& labels) {
    const int64_t V = logits.size(-1);
    auto shift_logits = logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, V}).to(torch::kFloat32);
    auto shift_labels = labels.narrow(1, 1, labels.size(1) - 1).reshape({-1}).to(logits.device());
    return F::cross_entropy(shift_logits, shift_labels,
                            F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
}

torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t* counted) {
    auto sum = causal_lm_loss_sum(logits, labels);
    auto count = (labels.narrow(1, 1, labels.size(1) - 1) != -100).sum();
    if (counted) *counted = count.item<int64_t>();
    return sum / count.clamp_min(1).to(torch::kFloat32).to(sum.device());
}

}  // namespace droplora::model
