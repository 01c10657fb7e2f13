#include "model/llama_config.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/text.h"

namespace droplora::model {
namespace {

using nlohmann::json;

// A value from the file, cut short for a one-line message.
std::string shown(const json& v) { return escape_control_chars(v.dump(), false, 60); }

// An integer that fits int64, or nothing.
std::optional<int64_t> as_int64(const json& v) {
    if (!v.is_number_integer()) return std::nullopt;
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return v.get<int64_t>();
}

// Reads an optional positive integer; absent or null keeps `fallback`.
int64_t get_int(const json& j, const char* key, int64_t fallback, const std::string& where, int64_t min_value = 1) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) fail(where, std::string(key) + " must be an integer, got " + shown(*it));
    const auto parsed = as_int64(*it);
    if (!parsed) fail(where, std::string(key) + " is out of range, got " + shown(*it));
    const int64_t v = *parsed;
    if (v < min_value) fail(where, std::string(key) + " must be ≥ " + std::to_string(min_value) + ", got " + std::to_string(v));
    return v;
}

double get_double(const json& j, const char* key, double fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number()) fail(where, std::string(key) + " must be a number, got " + shown(*it));
    double v = it->get<double>();
    if (!std::isfinite(v) || v <= 0) fail(where, std::string(key) + " must be a positive number, got " + shown(*it));
    return v;
}

bool get_bool(const json& j, const char* key, bool fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(where, std::string(key) + " must be true or false, got " + shown(*it));
    return it->get<bool>();
}

std::string get_string(const json& j, const char* key, const std::string& fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_string()) fail(where, std::string(key) + " must be a string, got " + shown(*it));
    return it->get<std::string>();
}

// bos/eos may be an int or (eos in newer configs) a list of ints: the first is ours.
std::optional<int64_t> get_token_id(const json& j, const char* key, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (auto v = as_int64(*it)) return v;
    if (it->is_array() && !it->empty())
        if (auto v = as_int64((*it)[0])) return v;
    fail(where, std::string(key) + " must be a token id or a list of token ids, got " + shown(*it));
}

RopeScaling parse_rope(const json& j, double* theta, const std::string& where) {
    RopeScaling rs;
    // Newest transformers: rope_parameters {rope_theta, rope_type, factor, ...}.
    const json* p = nullptr;
    std::string key = "rope_scaling";
    if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) fail(where, "rope_parameters must be an object or null, got " + shown(*it));
        p = &*it;
        key = "rope_parameters";
        *theta = get_double(*it, "rope_theta", *theta, where + ": rope_parameters");
    } else if (auto it2 = j.find("rope_scaling"); it2 != j.end() && !it2->is_null()) {
        if (!it2->is_object()) fail(where, "rope_scaling must be an object or null, got " + shown(*it2));
        p = &*it2;
    }
    if (!p) return rs;
    const std::string w = where + ": " + key;
    std::string type = get_string(*p, "rope_type", "", w);
    if (type.empty()) type = get_string(*p, "type", "default", w);
    if (type == "default") return rs;
    rs.factor = get_double(*p, "factor", 1.0, w);
    if (type == "linear") {
        if (!p->contains("factor")) fail(where, key + " of type linear needs a factor");
        rs.type = RopeType::Linear;
    } else if (type == "llama3") {
        rs.type = RopeType::Llama3;
        for (const char* k : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
            if (!p->contains(k)) fail(where, key + " of type llama3 needs " + k);
        rs.low_freq_factor = get_double(*p, "low_freq_factor", 1.0, w);
        rs.high_freq_factor = get_double(*p, "high_freq_factor", 4.0, w);
        rs.original_max_position_embeddings = get_int(*p, "original_max_position_embeddings", 8192, w);
        if (rs.high_freq_factor <= rs.low_freq_factor)
            fail(where, key + ": high_freq_factor must exceed low_freq_factor");
    } else {
        fail(where, key + " type '" + escape_control_chars(type, false, 40) +
                        "' is not supported (supported: default, linear, llama3)");
    }
    return rs;
}

// The architectures we run, their model_type and the defaults their
// configuration classes use when a key is absent (docs/model-architectures.md).
struct Architecture {
    const char* name;
    const char* model_type;
    int64_t vocab_size, intermediate_size, max_position_embeddings;
    int64_t kv_heads;   // 0: = num_attention_heads
    int64_t head_dim;   // 0: hidden_size / num_attention_heads
};

constexpr Architecture kArchitectures[] = {
    {"LlamaForCausalLM", "llama", 32000, 11008, 2048, 0, 0},
    {"MistralForCausalLM", "mistral", 32000, 14336, 4096 * 32, 8, 0},
    {"Qwen2ForCausalLM", "qwen2", 151936, 22016, 32768, 32, 0},
    {"Qwen3ForCausalLM", "qwen3", 151936, 22016, 32768, 32, 128},
};

const char* supported_list() { return "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM"; }

const Architecture& find_architecture(const json& j, const std::string& where) {
    std::string arch;
    if (auto it = j.find("architectures"); it != j.end() && !it->is_null()) {
        if (!it->is_array() || it->empty() || !(*it)[0].is_string())
            fail(where, "architectures must be a list of class names, got " + shown(*it));
        arch = (*it)[0].get<std::string>();
    }
    const std::string model_type = get_string(j, "model_type", "", where);
    const Architecture* found = nullptr;
    for (const auto& a : kArchitectures)
        if (arch.empty() ? model_type == a.model_type : arch == a.name) found = &a;
    if (!found && arch.empty())
        fail(where, "no architectures entry and model_type '" + escape_control_chars(model_type, false, 40) +
                        "' is not llama, mistral, qwen2 or qwen3");
    if (!found)
        fail(where, "architectures: '" + escape_control_chars(arch, false, 60) + "' is not supported (supported: " +
                        supported_list() + ")");
    if (!model_type.empty() && model_type != found->model_type)
        fail(where, "model_type '" + escape_control_chars(model_type, false, 40) + "' does not match architectures " +
                        found->name + " (expected '" + found->model_type + "')");
    return *found;
}

// Qwen2/Qwen3 sliding-window layers: `layer_types` when the file has it, else
// layer i slides when use_sliding_window and i ≥ max_window_layers (what
// Qwen2Config/Qwen3Config derive). Not supported: refused by key.
void refuse_qwen_sliding_layers(const json& j, int64_t layers, const std::string& where) {
    const bool use_window = get_bool(j, "use_sliding_window", false, where);
    if (auto it = j.find("layer_types"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) fail(where, "layer_types must be a list, got " + shown(*it));
        for (const auto& t : *it) {
            if (!t.is_string()) fail(where, "layer_types must hold strings, got " + shown(t));
            if (t.get<std::string>() != "full_attention")
                fail(where, "layer_types: '" + escape_control_chars(t.get<std::string>(), false, 40) +
                                "' layers are not supported (only full_attention)");
        }
        return;
    }
    if (!use_window) return;
    const int64_t max_window_layers = get_int(j, "max_window_layers", 28, where, 0);
    auto window = j.find("sliding_window");  // absent: 4096 (the config classes' default); null: none
    if (max_window_layers < layers && !(window != j.end() && window->is_null()))
        fail(where, "use_sliding_window is true and max_window_layers (" + std::to_string(max_window_layers) +
                        ") < num_hidden_layers (" + std::to_string(layers) +
                        "): sliding-window layers are not supported");
}

LlamaConfig parse(const json& j, const std::string& where) {
    if (!j.is_object()) fail(where, "config.json must hold a JSON object");
    const Architecture& a = find_architecture(j, where);
    LlamaConfig c;
    c.architecture = a.name;
    c.model_type = a.model_type;
    const std::string type = a.model_type;

    c.vocab_size = get_int(j, "vocab_size", a.vocab_size, where);
    c.hidden_size = get_int(j, "hidden_size", 4096, where);
    c.intermediate_size = get_int(j, "intermediate_size", a.intermediate_size, where);
    c.num_hidden_layers = get_int(j, "num_hidden_layers", 32, where);
    c.num_attention_heads = get_int(j, "num_attention_heads", 32, where);
    c.num_key_value_heads = get_int(j, "num_key_value_heads", a.kv_heads ? a.kv_heads : c.num_attention_heads, where);
    if (c.num_attention_heads % c.num_key_value_heads != 0)
        fail(where, "num_attention_heads (" + std::to_string(c.num_attention_heads) +
                        ") is not a multiple of num_key_value_heads (" + std::to_string(c.num_key_value_heads) + ")");
    if (j.contains("head_dim") && !j["head_dim"].is_null()) {
        c.head_dim = get_int(j, "head_dim", 0, where);
    } else if (a.head_dim) {
        c.head_dim = a.head_dim;
    } else {
        if (c.hidden_size % c.num_attention_heads != 0)
            fail(where, "hidden_size (" + std::to_string(c.hidden_size) + ") is not divisible by num_attention_heads (" +
                            std::to_string(c.num_attention_heads) + ") and no head_dim is given");
        c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    if (c.head_dim % 2 != 0) fail(where, "head_dim must be even for rotary embeddings, got " + std::to_string(c.head_dim));
    c.max_position_embeddings = get_int(j, "max_position_embeddings", a.max_position_embeddings, where);
    c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, where);
    c.rope_theta = get_double(j, "rope_theta", 10000.0, where);
    c.rope_scaling = parse_rope(j, &c.rope_theta, where);
    c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, where);
    c.bos_token_id = get_token_id(j, "bos_token_id", where).value_or(1);
    c.eos_token_id = get_token_id(j, "eos_token_id", where).value_or(2);
    c.pad_token_id = get_token_id(j, "pad_token_id", where);

    if (type == "qwen2") {  // q/k/v biases are built in; no attention_bias or mlp_bias key
        c.qkv_bias = true;
        c.o_bias = false;
    } else {
        c.attention_bias = get_bool(j, "attention_bias", false, where);
        c.qkv_bias = c.o_bias = c.attention_bias;
    }
    if (type == "llama") c.mlp_bias = get_bool(j, "mlp_bias", false, where);
    c.qk_norm = type == "qwen3";

    if (type == "mistral") {
        // MistralConfig: an absent key means 4096, null means no window.
        auto it = j.find("sliding_window");
        if (it == j.end()) c.sliding_window = 4096;
        else if (!it->is_null()) c.sliding_window = get_int(j, "sliding_window", 4096, where);
    } else if (type == "qwen2" || type == "qwen3") {
        refuse_qwen_sliding_layers(j, c.num_hidden_layers, where);
    }
    for (const char* k : {"num_experts", "num_local_experts", "n_routed_experts"})
        if (get_int(j, k, 0, where, 0) > 1) fail(where, std::string(k) + " > 1: mixture-of-experts models are not supported");

    const std::string act = get_string(j, "hidden_act", "silu", where);
    if (act != "silu" && act != "swish")
        fail(where, "hidden_act '" + escape_control_chars(act, false, 40) + "' is not supported (only silu)");
    // torch_dtype was renamed dtype in newer transformers.
    for (const char* k : {"torch_dtype", "dtype"})
        if (auto it = j.find(k); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();
    if (get_int(j, "pretraining_tp", 1, where) > 1) fail(where, "pretraining_tp > 1 is not supported");
    c.source_json = j.dump();
    return c;
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const json& j, const std::string& where) {
    try {
        return parse(j, where);
    } catch (const json::exception&) {
        // Every key we read is type-checked above; this is a last guard so
        // that no library text reaches the user.
        fail(where, "a value in config.json has an unexpected JSON type");
    }
}

LlamaConfig LlamaConfig::from_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open (is this a Hugging Face model folder?)");
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded()) fail(path, "not valid JSON");
    return from_json(j, path);
}

json LlamaConfig::to_json() const {
    if (!source_json.empty()) {
        json j = json::parse(source_json);
        if (j.contains("dtype")) j["dtype"] = torch_dtype;
        j["torch_dtype"] = torch_dtype;
        if (j.contains("dtype")) j.erase("torch_dtype");
        return j;
    }
    json j;
    j["architectures"] = {architecture};
    j["model_type"] = model_type;
    j["vocab_size"] = vocab_size;
    j["hidden_size"] = hidden_size;
    j["intermediate_size"] = intermediate_size;
    j["num_hidden_layers"] = num_hidden_layers;
    j["num_attention_heads"] = num_attention_heads;
    j["num_key_value_heads"] = num_key_value_heads;
    j["head_dim"] = head_dim;
    j["hidden_act"] = "silu";
    j["max_position_embeddings"] = max_position_embeddings;
    j["rms_norm_eps"] = rms_norm_eps;
    j["rope_theta"] = rope_theta;
    switch (rope_scaling.type) {
        case RopeType::Default: j["rope_scaling"] = nullptr; break;
        case RopeType::Linear: j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope_scaling.factor}}; break;
        case RopeType::Llama3:
            j["rope_scaling"] = {{"rope_type", "llama3"},
                                 {"factor", rope_scaling.factor},
                                 {"low_freq_factor", rope_scaling.low_freq_factor},
                                 {"high_freq_factor", rope_scaling.high_freq_factor},
                                 {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
            break;
    }
    if (model_type != "qwen2") j["attention_bias"] = attention_bias;
    if (model_type == "llama") j["mlp_bias"] = mlp_bias;
    if (model_type == "qwen2" || model_type == "qwen3") j["use_sliding_window"] = false;
    j["tie_word_embeddings"] = tie_word_embeddings;
    j["bos_token_id"] = bos_token_id;
    j["eos_token_id"] = eos_token_id;
    if (pad_token_id) j["pad_token_id"] = *pad_token_id;
    if (model_type == "mistral") j["sliding_window"] = sliding_window ? json(*sliding_window) : json(nullptr);
    j["torch_dtype"] = torch_dtype;
    return j;
}

std::string LlamaConfig::rope_description() const {
    std::ostringstream s;
    switch (rope_scaling.type) {
        case RopeType::Default: s << "default"; break;
        case RopeType::Linear: s << "linear ×" << rope_scaling.factor; break;
        case RopeType::Llama3: s << "llama3 ×" << rope_scaling.factor; break;
    }
    s << " (θ=" << rope_theta << ")";
    return s.str();
}

}  // namespace droplora::model
