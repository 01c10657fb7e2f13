// config.json of a LLaMA-family checkpoint (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM), with the architecture's own transformers
// defaults where a key is absent (docs/formats.md §1, docs/model-architectures.md).
// Torch-free. What we cannot run exactly (another architecture, an unknown rope
// type, a non-SiLU activation, Qwen sliding-window layers in use, a key of the
// wrong JSON type) is a one-line error naming config.json and the key, never a guess.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace droplora::model {

enum class RopeType { Default, Linear, Llama3 };

struct RopeScaling {
    RopeType type = RopeType::Default;
    double factor = 1.0;
    double low_freq_factor = 1.0;                    // llama3
    double high_freq_factor = 4.0;                   // llama3
    int64_t original_max_position_embeddings = 8192; // llama3
};

struct LlamaConfig {
    std::string architecture = "LlamaForCausalLM";
    std::string model_type = "llama";
    int64_t vocab_size = 32000;
    int64_t hidden_size = 4096;
    int64_t intermediate_size = 11008;
    int64_t num_hidden_layers = 32;
    int64_t num_attention_heads = 32;
    int64_t num_key_value_heads = 32;
    int64_t head_dim = 128;
    int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    RopeScaling rope_scaling;
    bool attention_bias = false;  // the config key (Llama, Mistral, Qwen3: q, k, v and o)
    bool qkv_bias = false;        // q/k/v projections have a bias (Qwen2: always)
    bool o_bias = false;          // o_proj has a bias (Qwen2: never)
    bool qk_norm = false;         // Qwen3: per-head RMSNorm of q and k over head_dim, before RoPE
    bool mlp_bias = false;
    bool tie_word_embeddings = false;
    int64_t bos_token_id = 1;
    int64_t eos_token_id = 2;
    std::optional<int64_t> pad_token_id;
    // Mistral: query i sees key j only when 0 ≤ i − j < sliding_window. Unset: full attention.
    std::optional<int64_t> sliding_window;
    std::string torch_dtype = "float32";    // as stored: float32 | bfloat16 | float16
    std::string source_json;                // the parsed config.json as read (empty when built in code)

    // Parses and checks a config.json object; `where` names the file in errors.
    static LlamaConfig from_json(const nlohmann::json& j, const std::string& where);
    static LlamaConfig from_file(const std::string& path);
    // The config.json of a merged export: the source file's object with its
    // dtype key set to torch_dtype (every architecture-specific key kept), or,
    // for a config built in code, the keys transformers would write.
    nlohmann::json to_json() const;
    std::string rope_description() const;  // "default θ=10000", "llama3 ×8 (θ=500000)"
};

}  // namespace droplora::model
