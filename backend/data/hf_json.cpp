#include "data/hf_json.h"

#include "common/error.h"

namespace droplora::data::hf_json {

using nlohmann::json;

std::string type_of(const json& j, const std::string& file, const std::string& component) {
    if (!j.is_object()) fail(file, component + " must be a JSON object, got " + j.type_name());
    auto it = j.find("type");
    if (it == j.end() || !it->is_string()) fail(file, component + " has no \"type\" string");
    return it->get<std::string>();
}

const json& array_at(const json& j, const char* key, const std::string& file, const std::string& component) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) fail(file, component + ": \"" + key + "\" must be a list");
    return *it;
}

std::string string_at(const json& j, const char* key, const std::string& file, const std::string& component) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) fail(file, component + ": \"" + key + "\" must be a string");
    return it->get<std::string>();
}

bool bool_at(const json& j, const char* key, bool fallback, const std::string& file, const std::string& component) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(file, component + ": \"" + key + "\" must be true or false, got " + it->dump());
    return it->get<bool>();
}

long long int_at(const json& j, const char* key, long long fallback, const std::string& file,
                 const std::string& component) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) fail(file, component + ": \"" + key + "\" must be an integer, got " + it->dump());
    return it->get<long long>();
}

std::string optional_string_at(const json& j, const char* key, const std::string& file,
                               const std::string& component) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_string()) fail(file, component + ": \"" + key + "\" must be a string or null");
    return it->get<std::string>();
}

Pattern pattern_of(const json& j, const std::string& file, const std::string& component) {
    auto it = j.find("pattern");
    if (it == j.end() || !it->is_object()) fail(file, component + ": \"pattern\" must be {\"String\"|\"Regex\": …}");
    if (auto s = it->find("String"); s != it->end() && s->is_string()) return {s->get<std::string>(), false};
    if (auto r = it->find("Regex"); r != it->end() && r->is_string()) return {r->get<std::string>(), true};
    fail(file, component + ": \"pattern\" must be {\"String\": …} or {\"Regex\": …}, got " + it->dump());
}

}  // namespace droplora::data::hf_json
