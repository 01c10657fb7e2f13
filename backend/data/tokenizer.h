// The model's tokenizer, one face for two kinds (docs/tokenizers.md):
//   - tokenizer.model, a sentencepiece ModelProto, when the folder has one, with the
//     BOS/EOS policy from tokenizer_config.json / config.json (docs/formats.md §2);
//   - else tokenizer.json, Hugging Face's serialized pipeline (data/hf_tokenizer.h),
//     whose post-processor decides the special tokens around a text.
// Both read tokenizer_config.json & co. into a TokenizerConfig (data/tokenizer_config.h).
//
// sentencepiece is never linked into the process: Debian's libsentencepiece
// carries its own protobuf, which clashes with libtorch's (docs/architecture.md, "Hazards").
// It lives in a small shared library of ours, libdroplora_spm.so, with a plain
// C interface (data/spm_shim.h), opened with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer_config.h"

namespace droplora::data {

class HfTokenizer;

class Tokenizer {
public:
    // `path` is a model folder (tokenizer.model or tokenizer.json inside) or one of those
    // files. In a folder, tokenizer_config.json may set add_bos_token / add_eos_token,
    // config.json's bos/eos ids are checked against the tokenizer's, and a tokenizer
    // with more ids than config.json's vocab_size is an Error.
    static std::shared_ptr<Tokenizer> load(const std::string& path);
    ~Tokenizer();

    // Pieces only: no BOS/EOS added.
    std::vector<int64_t> encode(const std::string& text) const;
    // sentencepiece: BOS/EOS as the model's policy says (default: BOS yes, EOS no);
    // tokenizer.json: what its post-processor adds (Hugging Face's tokenizer(text)["input_ids"]).
    std::vector<int64_t> encode_with_specials(const std::string& text) const;
    std::string decode(const std::vector<int64_t>& ids) const;
    std::string id_to_piece(int64_t id) const;

    int64_t vocab_size() const;
    int64_t bos_id() const { return bos_id_; }
    int64_t eos_id() const { return eos_id_; }
    int64_t pad_id() const { return pad_id_; }  // sentencepiece's pad, or -1
    int64_t unk_id() const { return unk_id_; }
    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    const std::string& model_path() const { return model_path_; }

    // "sentencepiece", "tokenizer.json BPE (byte-level)" or "tokenizer.json BPE (sentencepiece-style)".
    std::string kind() const;
    // Every id that ends generation: eos_id() first, then generation_config.json's and
    // config.json's eos ids, without repeats.
    const std::vector<int64_t>& stop_ids() const { return stop_ids_; }
    const TokenizerConfig& config() const { return config_; }
    // The id of a token written whole (an added/special token or a vocabulary entry), or −1.
    int64_t token_to_id(const std::string& token) const;
    // Whether `id` is a special token (control pieces of sentencepiece, special added tokens).
    bool is_special(int64_t id) const;
    // The tokenizer.json pipeline itself, or nullptr for sentencepiece.
    const HfTokenizer* hf() const { return hf_.get(); }

private:
    Tokenizer() = default;
    void load_sentencepiece(const std::string& path, bool is_dir);
    void load_tokenizer_json(const std::string& file, const std::string& dir);
    void* handle_ = nullptr;  // opaque handle from the shim
    std::shared_ptr<const HfTokenizer> hf_;
    std::vector<int64_t> hf_prefix_, hf_suffix_;  // tokens the post-processor puts around a text
    TokenizerConfig config_;
    std::vector<int64_t> stop_ids_;
    std::string model_path_;
    int64_t bos_id_ = 1, eos_id_ = 2, pad_id_ = -1, unk_id_ = 0;
    bool add_bos_ = true, add_eos_ = false;
};

}  // namespace droplora::data
