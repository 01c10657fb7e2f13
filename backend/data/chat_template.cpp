#include "data/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "data/jinja/interpreter.h"
#include "data/jinja/parser.h"

namespace droplora::data {
namespace fs = std::filesystem;

ChatTemplate::ChatTemplate(const std::string& source, const std::string& name, std::optional<std::string> bos_token,
                           std::optional<std::string> eos_token)
    : source_(source),
      name_(name),
      bos_(std::move(bos_token)),
      eos_(std::move(eos_token)),
      parsed_(std::make_shared<jinja::Template>(jinja::parse(source, name))) {}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
    if (!messages.is_array()) fail(name_, "messages must be a JSON array");
    if (!extra.is_object()) fail(name_, "extra template variables must be a JSON object");
    jinja::Dict vars;
    vars.set("messages", jinja::Value::from_json(messages));
    vars.set("add_generation_prompt", jinja::Value(add_generation_prompt));
    vars.set("tools", jinja::Value(nullptr));
    vars.set("documents", jinja::Value(nullptr));
    if (bos_) vars.set("bos_token", jinja::Value(*bos_));
    if (eos_) vars.set("eos_token", jinja::Value(*eos_));
    for (auto it = extra.begin(); it != extra.end(); ++it) vars.set(it.key(), jinja::Value::from_json(it.value()));
    std::tm now{};
    if (now_) {
        now = *now_;
    } else {
        const std::time_t t = std::time(nullptr);
        localtime_r(&t, &now);
    }
    return jinja::render(*parsed_, vars, now);
}

ChatTemplate::Spans ChatTemplate::render_spans(const nlohmann::ordered_json& messages,
                                              const nlohmann::ordered_json& extra) const {
    if (!messages.is_array()) fail(name_, "messages must be a JSON array");
    Spans out;
    out.text = render(messages, false, extra);
    const auto starts_with = [](const std::string& s, const std::string& p) {
        return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
    };
    size_t pos = 0;
    nlohmann::ordered_json head = nlohmann::ordered_json::array();
    for (size_t k = 0; k < messages.size(); ++k) {
        const nlohmann::ordered_json& m = messages[k];
        if (m.is_object() && m.value("role", "") == "assistant") {
            const std::string before = render(head, true, extra);
            head.push_back(m);
            const std::string with = render(head, false, extra);
            if (before.size() >= pos && starts_with(with, before) && starts_with(out.text, with)) {
                out.assistant.emplace_back(before.size(), with.size());
                pos = with.size();
            }
        } else {
            head.push_back(m);
        }
    }
    return out;
}

namespace {

std::optional<std::string> token_string(const nlohmann::json& cfg, const char* key, const std::string& where) {
    if (!cfg.contains(key) || cfg[key].is_null()) return std::nullopt;
    const nlohmann::json& v = cfg[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    fail(where, std::string(key) + " must be a string or an object with \"content\"");
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) fail(p.string(), "cannot be read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::optional<ChatTemplate> load_chat_template(const std::string& model_dir) {
    const fs::path dir(model_dir);
    const fs::path cfg_path = dir / "tokenizer_config.json";
    nlohmann::json cfg = nlohmann::json::object();
    if (fs::exists(cfg_path)) {
        try {
            cfg = nlohmann::json::parse(read_text(cfg_path));
        } catch (const nlohmann::json::exception& e) {
            fail(cfg_path.string(), std::string("not valid JSON: ") + e.what());
        }
        if (!cfg.is_object()) fail(cfg_path.string(), "must be a JSON object");
    }
    const std::optional<std::string> bos = token_string(cfg, "bos_token", cfg_path.string());
    const std::optional<std::string> eos = token_string(cfg, "eos_token", cfg_path.string());

    const fs::path jinja_path = dir / "chat_template.jinja";
    if (fs::exists(jinja_path)) return ChatTemplate(read_text(jinja_path), jinja_path.string(), bos, eos);
    if (!cfg.contains("chat_template") || cfg["chat_template"].is_null()) return std::nullopt;
    const nlohmann::json& t = cfg["chat_template"];
    const std::string name = cfg_path.string() + " chat_template";
    if (t.is_string()) return ChatTemplate(t.get<std::string>(), name, bos, eos);
    if (t.is_array()) {
        for (const auto& entry : t) {
            if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
                entry["template"].is_string())
                return ChatTemplate(entry["template"].get<std::string>(), name + " (default)", bos, eos);
        }
        fail(cfg_path.string(), "chat_template is a list without an entry named \"default\"");
    }
    fail(cfg_path.string(), "chat_template must be a string or a list of {name, template}");
}

}  // namespace droplora::data
