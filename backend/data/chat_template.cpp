#include "data/chat_template.h"
#include "data/tokenizer_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/text.h"
#include "io/strict_json.h"
#include "data/jinja/interpreter.h"
#include "data/jinja/parser.h"

namespace droplora::data {
namespace fs = std::filesystem;

namespace {

// Every message about a template starts with its name and is one line (the rule of
// docs/chat-templates.md); an inner error that does not is given its name. The template's own
// text can reach a message (an attribute name such as message['}}\n'], raise_exception's
// argument), so control characters are escaped here, at the boundary (a fuzz finding).
[[noreturn]] void rethrow_named(const std::string& name, const Error& e) {
    const std::string msg = escape_control_chars(e.what(), false, 2000);
    if (msg.rfind(name, 0) == 0) throw Error(msg);
    fail(name, msg);
}

jinja::Template parse_checked(const std::string& source, const std::string& name) {
    std::size_t bad_at = 0;
    if (!io::strict::valid_utf8(source, &bad_at))
        fail(name, "is not valid UTF-8 (byte " + std::to_string(bad_at) + "); a chat template is UTF-8 text");
    try {
        return jinja::parse(source, name);
    } catch (const Error& e) {
        rethrow_named(name, e);
    }
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, const std::string& name, std::optional<std::string> bos_token,
                           std::optional<std::string> eos_token)
    : source_(source),
      name_(name),
      bos_(std::move(bos_token)),
      eos_(std::move(eos_token)),
      parsed_(std::make_shared<jinja::Template>(parse_checked(source, name))) {}

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
    try {
        return jinja::render(*parsed_, vars, now);
    } catch (const Error& e) {
        rethrow_named(name_, e);
    }
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

std::optional<ChatTemplate> load_chat_template(const std::string& model_dir) {
    // The one reader of tokenizer_config.json and chat_template.jinja (data/tokenizer_config.h).
    const TokenizerConfig tc = read_tokenizer_config(model_dir);
    if (!tc.has_chat_template()) return std::nullopt;
    const auto token = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
    std::string name = tc.chat_template_source;
    if (fs::path(name).filename() == "tokenizer_config.json") name += " chat_template";
    return ChatTemplate(tc.chat_template, name, token(tc.bos_token), token(tc.eos_token));
}

}  // namespace droplora::data
