#include "model/tensor_layout.h"

namespace droplora::model {

std::vector<TensorSpec> global_tensor_specs(const LlamaConfig& cfg) {
    std::vector<TensorSpec> out;
    out.push_back({"model.embed_tokens.weight", {cfg.vocab_size, cfg.hidden_size}});
    out.push_back({"model.norm.weight", {cfg.hidden_size}});
    if (!cfg.tie_word_embeddings) out.push_back({"lm_head.weight", {cfg.vocab_size, cfg.hidden_size}});
    return out;
}

std::vector<TensorSpec> layer_tensor_specs(const LlamaConfig& cfg, int64_t layer) {
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    const int64_t H = cfg.hidden_size, I = cfg.intermediate_size, d = cfg.head_dim;
    const int64_t q_out = cfg.num_attention_heads * d, kv_out = cfg.num_key_value_heads * d;
    std::vector<TensorSpec> out;
    out.push_back({p + "input_layernorm.weight", {H}});
    out.push_back({p + "post_attention_layernorm.weight", {H}});
    auto linear = [&](const std::string& name, int64_t out_f, int64_t in_f, bool bias) {
        out.push_back({p + name + ".weight", {out_f, in_f}});
        if (bias) out.push_back({p + name + ".bias", {out_f}});
    };
    linear("self_attn.q_proj", q_out, H, cfg.qkv_bias);
    linear("self_attn.k_proj", kv_out, H, cfg.qkv_bias);
    linear("self_attn.v_proj", kv_out, H, cfg.qkv_bias);
    linear("self_attn.o_proj", H, q_out, cfg.o_bias);
    if (cfg.qk_norm) {
        out.push_back({p + "self_attn.q_norm.weight", {d}});
        out.push_back({p + "self_attn.k_norm.weight", {d}});
    }
    linear("mlp.gate_proj", I, H, cfg.mlp_bias);
    linear("mlp.up_proj", I, H, cfg.mlp_bias);
    linear("mlp.down_proj", H, I, cfg.mlp_bias);
    return out;
}

}  // namespace droplora::model
