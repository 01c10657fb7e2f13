#include "export/gguf_llama.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include "common/error.h"

namespace droplora::exports {

using io::GgufValue;

namespace {

// llama.cpp's `llama` architecture rotates adjacent pairs; `qwen2` and `qwen3` rotate halves (NEOX), as
// Hugging Face does, so only `llama` needs the q/k row permutation.
bool is_llama_architecture(const model::LlamaConfig& cfg) {
    return cfg.architecture == "LlamaForCausalLM" || cfg.architecture == "MistralForCausalLM";
}

}  // namespace

std::string gguf_architecture(const model::LlamaConfig& cfg, const std::string& where) {
    if (cfg.head_dim % 2 != 0) fail(where, "head_dim " + std::to_string(cfg.head_dim) + " is odd; rope needs pairs");
    if (cfg.mlp_bias) fail(where, "mlp_bias: llama.cpp's llama, qwen2 and qwen3 architectures have no MLP biases");
    if (is_llama_architecture(cfg)) {
        // The converter would write these as optional tensors; their llama.cpp path is not verified here.
        if (cfg.attention_bias)
            fail(where, "attention_bias: GGUF export of LLaMA models with attention biases is not supported");
        return "llama";
    }
    if (cfg.architecture == "Qwen2ForCausalLM") {
        // llama.cpp's qwen2 loads q/k/v biases as required tensors and has none on o_proj.
        if (!cfg.qkv_bias || cfg.o_bias)
            fail(where, "Qwen2ForCausalLM: llama.cpp's qwen2 architecture needs q/k/v biases and no o_proj bias");
        return "qwen2";
    }
    if (cfg.architecture == "Qwen3ForCausalLM") {
        if (cfg.qkv_bias || cfg.o_bias)
            fail(where, "attention_bias: llama.cpp's qwen3 architecture has no attention biases");
        if (!cfg.qk_norm) fail(where, "Qwen3ForCausalLM without q/k norms has no llama.cpp architecture");
        return "qwen3";
    }
    fail(where, "architecture " + cfg.architecture +
                    " has no GGUF export (llama.cpp's llama architecture covers LlamaForCausalLM and "
                    "MistralForCausalLM, its qwen2 and qwen3 Qwen2ForCausalLM and Qwen3ForCausalLM)");
}

namespace {

const std::regex kLayer(R"(model\.layers\.(\d+)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj)");

}  // namespace

std::string gguf_module_name(const std::string& hf_module, const std::string& where) {
    std::smatch m;
    if (!std::regex_match(hf_module, m, kLayer)) fail(where, "module " + hf_module + " has no llama.cpp name");
    const std::string p = m[3];
    const std::string base = p == "q" ? "attn_q" : p == "k" ? "attn_k" : p == "v" ? "attn_v" : p == "o" ? "attn_output"
                             : p == "gate"                                          ? "ffn_gate"
                             : p == "up"                                            ? "ffn_up"
                                                                                    : "ffn_down";
    if ((m[2] == "self_attn") != (p == "q" || p == "k" || p == "v" || p == "o"))
        fail(where, "module " + hf_module + " has no llama.cpp name");
    return "blk." + std::string(m[1]) + "." + base;
}

std::string gguf_tensor_name(const std::string& hf_name, const std::string& where) {
    if (hf_name == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf_name == "model.norm.weight") return "output_norm.weight";
    if (hf_name == "lm_head.weight") return "output.weight";
    static const std::regex norm(R"(model\.layers\.(\d+)\.(input_layernorm|post_attention_layernorm)\.weight)");
    static const std::regex qk_norm(R"(model\.layers\.(\d+)\.self_attn\.(q|k)_norm\.weight)");  // Qwen3
    std::smatch m;
    if (std::regex_match(hf_name, m, norm))
        return "blk." + std::string(m[1]) + (m[2] == "input_layernorm" ? ".attn_norm.weight" : ".ffn_norm.weight");
    if (std::regex_match(hf_name, m, qk_norm)) return "blk." + std::string(m[1]) + ".attn_" + std::string(m[2]) + "_norm.weight";
    for (const char* suffix : {".weight", ".bias"}) {
        const std::string s = suffix;
        if (hf_name.size() > s.size() && hf_name.compare(hf_name.size() - s.size(), s.size(), s) == 0)
            return gguf_module_name(hf_name.substr(0, hf_name.size() - s.size()), where) + s;
    }
    fail(where, "tensor " + hf_name + " has no llama.cpp name");
}

std::vector<int64_t> gguf_row_order(const std::string& hf_name, const model::LlamaConfig& cfg) {
    if (!is_llama_architecture(cfg)) return {};
    int64_t heads = 0;
    if (hf_name.find("self_attn.q_proj") != std::string::npos) heads = cfg.num_attention_heads;
    if (hf_name.find("self_attn.k_proj") != std::string::npos) heads = cfg.num_key_value_heads;
    if (heads == 0) return {};
    const int64_t d = cfg.head_dim, half = d / 2;
    std::vector<int64_t> order(static_cast<size_t>(heads * d));
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < half; ++j)
            for (int64_t t = 0; t < 2; ++t) order[static_cast<size_t>(h * d + 2 * j + t)] = h * d + t * half + j;
    return order;
}

std::vector<float> reorder_rows(const std::vector<float>& in, int64_t cols, const std::vector<int64_t>& order) {
    if (order.empty()) return in;
    if (cols <= 0 || static_cast<int64_t>(in.size()) != static_cast<int64_t>(order.size()) * cols)
        throw Error("reorder_rows: " + std::to_string(in.size()) + " values are not " + std::to_string(order.size()) +
                    " rows of " + std::to_string(cols));
    std::vector<float> out(in.size());
    for (size_t r = 0; r < order.size(); ++r)
        std::copy_n(in.begin() + order[r] * cols, cols, out.begin() + static_cast<int64_t>(r) * cols);
    return out;
}

void add_model_hparams(io::GgufMetadata& kv, const model::LlamaConfig& cfg, const std::string& arch,
                       const std::string& name, int file_type) {
    const std::string a = arch + ".";
    auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
    kv.emplace_back("general.architecture", GgufValue::string(arch));
    kv.emplace_back("general.name", GgufValue::string(name));
    if (file_type >= 0) kv.emplace_back("general.file_type", u32(file_type));
    kv.emplace_back("general.quantization_version", u32(2));  // GGML_QNT_VERSION
    kv.emplace_back(a + "vocab_size", u32(cfg.vocab_size));
    kv.emplace_back(a + "context_length", u32(cfg.max_position_embeddings));
    kv.emplace_back(a + "embedding_length", u32(cfg.hidden_size));
    kv.emplace_back(a + "block_count", u32(cfg.num_hidden_layers));
    kv.emplace_back(a + "feed_forward_length", u32(cfg.intermediate_size));
    kv.emplace_back(a + "rope.dimension_count", u32(cfg.head_dim));
    kv.emplace_back(a + "attention.head_count", u32(cfg.num_attention_heads));
    kv.emplace_back(a + "attention.head_count_kv", u32(cfg.num_key_value_heads));
    if (cfg.head_dim * cfg.num_attention_heads != cfg.hidden_size) {
        kv.emplace_back(a + "attention.key_length", u32(cfg.head_dim));
        kv.emplace_back(a + "attention.value_length", u32(cfg.head_dim));
    }
    kv.emplace_back(a + "attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(cfg.rms_norm_eps)));
    kv.emplace_back(a + "rope.freq_base", GgufValue::f32(static_cast<float>(cfg.rope_theta)));
    if (cfg.rope_scaling.type == model::RopeType::Linear) {
        kv.emplace_back(a + "rope.scaling.type", GgufValue::string("linear"));
        kv.emplace_back(a + "rope.scaling.factor", GgufValue::f32(static_cast<float>(cfg.rope_scaling.factor)));
    }
}

std::vector<float> llama3_rope_freqs(const model::LlamaConfig& cfg) {
    const auto& rs = cfg.rope_scaling;
    if (rs.type != model::RopeType::Llama3) return {};
    const double ctx = static_cast<double>(rs.original_max_position_embeddings);
    const double low_wavelen = ctx / rs.low_freq_factor, high_wavelen = ctx / rs.high_freq_factor;
    std::vector<float> out;
    for (int64_t i = 0; i < cfg.head_dim / 2; ++i) {
        // The default frequency as the engine computes it (fp32), then the llama3 divisor of docs/formats.md §1.
        const float inv = 1.0f / std::pow(static_cast<float>(cfg.rope_theta),
                                          static_cast<float>(2 * i) / static_cast<float>(cfg.head_dim));
        const double wavelen = 2.0 * M_PI / inv;
        if (wavelen < high_wavelen) {
            out.push_back(1.0f);
        } else if (wavelen > low_wavelen) {
            out.push_back(static_cast<float>(rs.factor));
        } else {
            const double smooth = (ctx / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
            out.push_back(static_cast<float>(1.0 / ((1.0 - smooth) / rs.factor + smooth)));
        }
    }
    return out;
}

int llama_file_type(io::GgmlType t) {
    switch (t) {
        case io::GgmlType::F32: return 0;
        case io::GgmlType::F16: return 1;
        case io::GgmlType::Q8_0: return 7;
        case io::GgmlType::BF16: return 32;
        default: throw Error(std::string("no llama.cpp file type for ") + io::ggml_type_name(t));
    }
}

}  // namespace droplora::exports
