#include "data/tokenizer_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace droplora::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::optional<std::string> read_text(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    if (fs::is_directory(file, ec)) fail(file.string(), "is a folder, expected a file");
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), "cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::optional<json> read_object(const fs::path& file) {
    auto text = read_text(file);
    if (!text) return std::nullopt;
    json j;
    try {
        j = json::parse(*text);
    } catch (const json::exception& e) {
        fail(file.string(), std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object()) fail(file.string(), std::string("expected a JSON object, got ") + j.type_name());
    return j;
}

// A token is a string, or an AddedToken object {"content": …}; null/absent → "".
std::string token_string(const json& j, const char* key, const fs::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) {
        if (auto c = it->find("content"); c != it->end() && c->is_string()) return c->get<std::string>();
    }
    fail(file.string(), std::string(key) + " must be a token string or {\"content\": …}, got " + it->dump());
}

std::optional<bool> get_bool(const json& j, const char* key, const fs::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) fail(file.string(), std::string(key) + " must be true or false, got " + it->dump());
    return it->get<bool>();
}

// An id or a list of ids; null/absent → empty.
std::vector<int64_t> get_ids(const json& j, const char* key, const fs::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (it->is_number_integer()) return {it->get<int64_t>()};
    std::vector<int64_t> out;
    if (it->is_array()) {
        for (const auto& v : *it) {
            if (!v.is_number_integer()) fail(file.string(), std::string(key) + " must be a token id or a list of them");
            out.push_back(v.get<int64_t>());
        }
        return out;
    }
    fail(file.string(), std::string(key) + " must be a token id or a list of them, got " + it->dump());
}

std::optional<int64_t> get_id(const json& j, const char* key, const fs::path& file) {
    auto ids = get_ids(j, key, file);
    if (ids.empty()) return std::nullopt;
    return ids.front();
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::string& model_dir) {
    TokenizerConfig c;
    const fs::path dir(model_dir);

    const fs::path map_file = dir / "special_tokens_map.json";
    if (auto j = read_object(map_file)) {
        c.bos_token = token_string(*j, "bos_token", map_file);
        c.eos_token = token_string(*j, "eos_token", map_file);
        c.pad_token = token_string(*j, "pad_token", map_file);
        c.unk_token = token_string(*j, "unk_token", map_file);
    }
    const fs::path config_file = dir / "tokenizer_config.json";
    if (auto j = read_object(config_file)) {
        for (auto [key, slot] : {std::pair{"bos_token", &c.bos_token}, std::pair{"eos_token", &c.eos_token},
                                 std::pair{"pad_token", &c.pad_token}, std::pair{"unk_token", &c.unk_token}}) {
            if (j->contains(key)) *slot = token_string(*j, key, config_file);  // an explicit null clears the map's
        }
        c.add_bos_token = get_bool(*j, "add_bos_token", config_file);
        c.add_eos_token = get_bool(*j, "add_eos_token", config_file);
        if (auto t = j->find("tokenizer_class"); t != j->end() && t->is_string()) c.tokenizer_class = *t;
        if (auto t = j->find("chat_template"); t != j->end() && !t->is_null()) {
            if (t->is_string()) {
                c.chat_template = t->get<std::string>();
            } else if (t->is_array()) {
                // A list of {"name", "template"}: the "default" one is what apply_chat_template uses.
                for (const auto& e : *t) {
                    if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
                        !e["template"].is_string())
                        fail(config_file.string(), "chat_template: each entry must be {\"name\", \"template\"}");
                    if (e["name"] == "default") c.chat_template = e["template"].get<std::string>();
                }
                if (c.chat_template.empty())
                    fail(config_file.string(), "chat_template: a list of named templates without a \"default\" one");
            } else {
                fail(config_file.string(), "chat_template must be a string or a list of named templates");
            }
            c.chat_template_source = config_file.string();
        }
    }
    // transformers reads chat_template.jinja in preference to tokenizer_config.json's.
    const fs::path jinja_file = dir / "chat_template.jinja";
    if (auto text = read_text(jinja_file)) {
        c.chat_template = *text;
        c.chat_template_source = jinja_file.string();
    }
    const fs::path model_config = dir / "config.json";
    if (auto j = read_object(model_config)) {
        c.config_bos_ids = get_ids(*j, "bos_token_id", model_config);
        c.config_eos_ids = get_ids(*j, "eos_token_id", model_config);
        c.config_pad_id = get_id(*j, "pad_token_id", model_config);
        if (auto v = j->find("vocab_size"); v != j->end() && !v->is_null()) {
            if (!v->is_number_integer() || v->get<int64_t>() <= 0)
                fail(model_config.string(), "vocab_size must be a positive integer, got " + v->dump());
            c.config_vocab_size = v->get<int64_t>();
        }
    }
    const fs::path generation = dir / "generation_config.json";
    if (auto j = read_object(generation)) {
        c.generation_eos_ids = get_ids(*j, "eos_token_id", generation);
        c.generation_bos_id = get_id(*j, "bos_token_id", generation);
        c.generation_pad_id = get_id(*j, "pad_token_id", generation);
    }
    return c;
}

}  // namespace droplora::data
