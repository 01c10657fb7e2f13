// A model's own chat template, rendered as transformers' apply_chat_template
// renders it (docs/chat-templates.md): Jinja2 with trim_blocks and
// lstrip_blocks, the variables messages, add_generation_prompt, bos_token,
// eos_token, tools (None), documents (None) and any extra keyword argument
// (Qwen3's enable_thinking). Torch-free.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace droplora::data {

namespace jinja {
struct Template;
}

class ChatTemplate {
public:
    // Parses `source` now: a construct the interpreter does not support is an
    // Error("<name>:<line>: …"). `name` names the template in messages.
    ChatTemplate(const std::string& source, const std::string& name, std::optional<std::string> bos_token,
                 std::optional<std::string> eos_token);

    // `messages`: a JSON array (ordered_json: tojson writes keys in their order) of {"role", "content", …} objects as the
    // template expects them; `extra`: a JSON object of further variables.
    std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                       const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

    // The whole conversation rendered (no generation prompt) and, for each
    // assistant message k that counts, the byte range [begin, end) it adds: the
    // render of messages[0..k] past the render of messages[0..k) with the
    // generation prompt. A turn counts when both renders are prefixes of the
    // whole text (Qwen3 renders an earlier turn's reasoning differently once a
    // later user turn follows; such a turn is left out).
    struct Spans {
        std::string text;
        std::vector<std::pair<size_t, size_t>> assistant;
    };
    Spans render_spans(const nlohmann::ordered_json& messages,
                       const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

    // What strftime_now formats; unset, the local time of each render.
    void set_now(const std::tm& now) { now_ = now; }

    const std::string& name() const { return name_; }
    const std::string& source() const { return source_; }
    const std::optional<std::string>& bos_token() const { return bos_; }
    const std::optional<std::string>& eos_token() const { return eos_; }

private:
    std::string source_;
    std::string name_;
    std::optional<std::string> bos_;
    std::optional<std::string> eos_;
    std::optional<std::tm> now_;
    std::shared_ptr<const jinja::Template> parsed_;
};

// The chat template of a model folder: chat_template.jinja if present, else
// "chat_template" in tokenizer_config.json (a string, or a list of {name,
// template} of which "default" is taken), with bos_token/eos_token from
// tokenizer_config.json (a string or an {"content": …} object). nullopt when
// the folder has no chat template.
std::optional<ChatTemplate> load_chat_template(const std::string& model_dir);

}  // namespace droplora::data
