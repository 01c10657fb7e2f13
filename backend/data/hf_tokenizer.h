// A tokenizer.json (Hugging Face tokenizers' serialized pipeline) read without
// the tokenizers library (docs/tokenizers.md): added tokens → normalizer →
// pre-tokenizer → BPE model → post-processor, and the decoder back. Encodes
// exactly as Hugging Face's Tokenizer.encode does for the BPE files of Llama 3.x,
// Qwen2.5/3, SmolLM2, Llama 2 and Gemma 3. Anything else is an Error naming the
// file and the component. Immutable after load; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/hf_added_tokens.h"

namespace droplora::data {

class HfBpe;
class HfNormalizer;
class HfPreTokenizer;
class HfDecoder;

class HfTokenizer {
public:
    static std::unique_ptr<HfTokenizer> load(const std::string& tokenizer_json);
    // `text` as the contents of a tokenizer.json; `file` names it in errors.
    static std::unique_ptr<HfTokenizer> parse(const std::string& text, const std::string& file);
    ~HfTokenizer();

    // With `add_special_tokens`, the post-processor's tokens around the text (Hugging Face's default).
    std::vector<int32_t> encode(const std::string& text, bool add_special_tokens) const;
    std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

    int32_t token_to_id(const std::string& token) const;  // −1 when absent
    std::string id_to_token(int32_t id) const;            // "" when absent
    bool has_id(int32_t id) const;
    int32_t vocab_size() const { return vocab_size_; }  // the highest id + 1
    const HfAddedTokens& added_tokens() const { return added_; }
    // What the post-processor puts before and after a single text.
    const std::vector<int32_t>& prefix_ids() const { return prefix_; }
    const std::vector<int32_t>& suffix_ids() const { return suffix_; }
    bool byte_level() const { return byte_level_; }
    const std::string& file() const { return file_; }

private:
    HfTokenizer() = default;
    std::string file_;
    std::unique_ptr<HfBpe> model_;
    std::unique_ptr<HfNormalizer> normalizer_;
    std::unique_ptr<HfPreTokenizer> pre_tokenizer_;
    std::unique_ptr<HfDecoder> decoder_;
    HfAddedTokens added_;
    std::vector<int32_t> prefix_, suffix_;
    int32_t vocab_size_ = 0;
    bool byte_level_ = false;
};

}  // namespace droplora::data
