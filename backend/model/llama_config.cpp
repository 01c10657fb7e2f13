#include "model/llama_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace droplora::model {
namespace {

using nlohmann::json;

// Reads an optional positive integer; absent or null keeps `fallback`.
int64_t get_int(const json& j, const char* key, int64_t fallback, const std::string& where, int64_t min_value = 1) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) fail(where, std::string(key) + " must be an integer, got " + it->dump());
    int64_t v = it->get<int64_t>();
    if (v < min_value) fail(where, std::string(key) + " must be ≥ " + std::to_string(min_value) + ", got " + std::to_string(v));
    return v;
}

double get_double(const json& j, const char* key, double fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number()) fail(where, std::string(key) + " must be a number, got " + it->dump());
    double v = it->get<double>();
    if (!std::isfinite(v) || v <= 0) fail(where, std::string(key) + " must be a positive number, got " + it->dump());
    return v;
}

bool get_bool(const json& j, const char* key, bool fallback, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(where, std::string(key) + " must be true or false, got " + it->dump());
    return it->get<bool>();
}

// bos/eos may be an int or (eos in newer configs) a list of ints: the first is ours.
std::optional<int64_t> get_token_id(const json& j, const char* key, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();
    fail(where, std::string(key) + " must be a token id, got " + it->dump());
}

RopeScaling parse_rope(const json& j, double* theta, const std::string& where) {
    RopeScaling rs;
    // Newest transformers: rope_parameters {rope_theta, rope_type, factor, ...}.
    const json* p = nullptr;
    if (auto it = j.find("rope_parameters"); it != j.end() && it->is_object()) {
        p = &*it;
        if (auto t = it->find("rope_theta"); t != it->end() && t->is_number()) *theta = t->get<double>();
    } else if (auto it2 = j.find("rope_scaling"); it2 != j.end() && !it2->is_null()) {
        if (!it2->is_object()) fail(where, "rope_scaling must be an object or null, got " + it2->dump());
        p = &*it2;
    }
    if (!p) return rs;
    std::string type = "default";
    if (auto t = p->find("rope_type"); t != p->end() && t->is_string()) type = t->get<std::string>();
    else if (auto t2 = p->find("type"); t2 != p->end() && t2->is_string()) type = t2->get<std::string>();
    const std::string w = where + ": rope_scaling";
    if (type == "default") return rs;
    rs.factor = get_double(*p, "factor", 1.0, w);
    if (type == "linear") {
        if (!p->contains("factor")) fail(where, "rope_scaling of type linear needs a factor");
        rs.type = RopeType::Linear;
    } else if (type == "llama3") {
        rs.type = RopeType::Llama3;
        for (const char* k : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
            if (!p->contains(k)) fail(where, std::string("rope_scaling of type llama3 needs ") + k);
        rs.low_freq_factor = get_double(*p, "low_freq_factor", 1.0, w);
        rs.high_freq_factor = get_double(*p, "high_freq_factor", 4.0, w);
        rs.original_max_position_embeddings = get_int(*p, "original_max_position_embeddings", 8192, w);
        if (rs.high_freq_factor <= rs.low_freq_factor)
            fail(where, "rope_scaling: high_freq_factor must exceed low_freq_factor");
    } else {
        fail(where, "rope_scaling type '" + type + "' is not supported (supported: default, linear, llama3)");
    }
    return rs;
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const json& j, const std::string& where) {
    if (!j.is_object()) fail(where, "config.json must hold a JSON object");
    LlamaConfig c;
    std::string arch;
    if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
        arch = (*it)[0].get<std::string>();
    std::string model_type = j.value("model_type", std::string());
    if (arch.empty()) {
        if (model_type == "llama") arch = "LlamaForCausalLM";
        else if (model_type == "mistral") arch = "MistralForCausalLM";
        else fail(where, "no 'architectures' entry and model_type '" + model_type + "' is not llama or mistral");
    }
    if (arch != "LlamaForCausalLM" && arch != "MistralForCausalLM")
        fail(where, "architecture '" + arch + "' is not supported (supported: LlamaForCausalLM, MistralForCausalLM)");
    c.architecture = arch;
    c.model_type = model_type.empty() ? (arch == "MistralForCausalLM" ? "mistral" : "llama") : model_type;
    const bool mistral = arch == "MistralForCausalLM";

    c.vocab_size = get_int(j, "vocab_size", 32000, where);
    c.hidden_size = get_int(j, "hidden_size", 4096, where);
    c.intermediate_size = get_int(j, "intermediate_size", mistral ? 14336 : 11008, where);
    c.num_hidden_layers = get_int(j, "num_hidden_layers", 32, where);
    c.num_attention_heads = get_int(j, "num_attention_heads", 32, where);
    c.num_key_value_heads = get_int(j, "num_key_value_heads", mistral ? 8 : c.num_attention_heads, where);
    if (c.num_attention_heads % c.num_key_value_heads != 0)
        fail(where, "num_attention_heads (" + std::to_string(c.num_attention_heads) +
                        ") is not a multiple of num_key_value_heads (" + std::to_string(c.num_key_value_heads) + ")");
    if (j.contains("head_dim") && !j["head_dim"].is_null()) {
        c.head_dim = get_int(j, "head_dim", 0, where);
    } else {
        if (c.hidden_size % c.num_attention_heads != 0)
            fail(where, "hidden_size (" + std::to_string(c.hidden_size) + ") is not divisible by num_attention_heads (" +
                            std::to_string(c.num_attention_heads) + ") and no head_dim is given");
        c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    if (c.head_dim % 2 != 0) fail(where, "head_dim must be even for rotary embeddings, got " + std::to_string(c.head_dim));
    c.max_position_embeddings = get_int(j, "max_position_embeddings", mistral ? 32768 : 2048, where);
    c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, where);
    c.rope_theta = get_double(j, "rope_theta", 10000.0, where);
    c.rope_scaling = parse_rope(j, &c.rope_theta, where);
    c.attention_bias = get_bool(j, "attention_bias", false, where);
    c.mlp_bias = get_bool(j, "mlp_bias", false, where);
    c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, where);
    c.bos_token_id = get_token_id(j, "bos_token_id", where).value_or(1);
    c.eos_token_id = get_token_id(j, "eos_token_id", where).value_or(2);
    c.pad_token_id = get_token_id(j, "pad_token_id", where);
    if (auto it = j.find("sliding_window"); it != j.end() && it->is_number_integer())
        c.sliding_window = it->get<int64_t>();

    std::string act = j.value("hidden_act", std::string("silu"));
    if (act != "silu" && act != "swish") fail(where, "hidden_act '" + act + "' is not supported (only silu)");
    // torch_dtype was renamed dtype in newer transformers.
    for (const char* k : {"torch_dtype", "dtype"})
        if (auto it = j.find(k); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();
    for (const char* k : {"pretraining_tp"})
        if (auto it = j.find(k); it != j.end() && it->is_number_integer() && it->get<int64_t>() > 1)
            fail(where, "pretraining_tp > 1 is not supported");
    return c;
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
    j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
    j["tie_word_embeddings"] = tie_word_embeddings;
    j["bos_token_id"] = bos_token_id;
    j["eos_token_id"] = eos_token_id;
    if (pad_token_id) j["pad_token_id"] = *pad_token_id;
    if (sliding_window) j["sliding_window"] = *sliding_window;
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
