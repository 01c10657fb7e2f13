// What a model folder says about its tokenizer besides the vocabulary
// (docs/tokenizers.md, "tokenizer_config.json and friends"): tokenizer_config.json,
// special_tokens_map.json, generation_config.json, config.json and chat_template.jinja.
// The chat template is kept as source text for the template renderer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace droplora::data {

struct TokenizerConfig {
    // Token strings as the files name them ("" when none); tokenizer_config.json wins
    // over special_tokens_map.json.
    std::string bos_token, eos_token, pad_token, unk_token;
    std::optional<bool> add_bos_token, add_eos_token;  // unset when no file says
    std::string tokenizer_class;

    // The chat template: chat_template.jinja, else tokenizer_config.json's
    // "chat_template" (a string, or the "default" of a list of named templates).
    std::string chat_template;
    std::string chat_template_source;  // the file it came from, "" when none

    // Ids the files give: config.json's bos/eos, generation_config.json's eos
    // (an int or a list), in file order; the facade adds the tokenizer's own.
    std::vector<int64_t> config_bos_ids, config_eos_ids, generation_eos_ids;
    std::optional<int64_t> config_pad_id, generation_pad_id, generation_bos_id;
    std::optional<int64_t> config_vocab_size;  // config.json's vocab_size (embedding rows)

    bool has_chat_template() const { return !chat_template.empty(); }
};

// Reads the files of `model_dir` that exist; a malformed one is an Error naming it.
TokenizerConfig read_tokenizer_config(const std::string& model_dir);

}  // namespace droplora::data
