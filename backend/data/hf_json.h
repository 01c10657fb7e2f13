// Strict field readers for tokenizer.json components: a missing or mistyped field
// is an Error "<file>: <component>: <field> …" (one line).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace droplora::data::hf_json {

// j["type"] as a string; `component` names the section ("pre_tokenizer", "decoder", …).
std::string type_of(const nlohmann::json& j, const std::string& file, const std::string& component);
const nlohmann::json& array_at(const nlohmann::json& j, const char* key, const std::string& file,
                               const std::string& component);
std::string string_at(const nlohmann::json& j, const char* key, const std::string& file,
                      const std::string& component);
// A missing or null key reads as `fallback`.
bool bool_at(const nlohmann::json& j, const char* key, bool fallback, const std::string& file,
             const std::string& component);
long long int_at(const nlohmann::json& j, const char* key, long long fallback, const std::string& file,
                 const std::string& component);
// A null or missing key reads as "", a string as itself.
std::string optional_string_at(const nlohmann::json& j, const char* key, const std::string& file,
                               const std::string& component);

// "pattern": {"String": "…"} or {"Regex": "…"}.
struct Pattern {
    std::string text;
    bool is_regex = false;
};
Pattern pattern_of(const nlohmann::json& j, const std::string& file, const std::string& component);

}  // namespace droplora::data::hf_json
