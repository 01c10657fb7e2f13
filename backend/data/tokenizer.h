// The model's tokenizer: tokenizer.model (a sentencepiece ModelProto) plus the
// BOS/EOS policy from tokenizer_config.json / config.json (docs/formats.md §2).
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

namespace droplora::data {

class Tokenizer {
public:
    // `path` is a model folder (tokenizer.model inside) or a tokenizer.model file.
    // In a folder, tokenizer_config.json may set add_bos_token / add_eos_token,
    // and config.json's bos/eos ids are checked against the tokenizer's.
    static std::shared_ptr<Tokenizer> load(const std::string& path);
    ~Tokenizer();

    // Pieces only: no BOS/EOS added.
    std::vector<int64_t> encode(const std::string& text) const;
    // BOS/EOS as the model's policy says (default: BOS yes, EOS no).
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

private:
    Tokenizer() = default;
    void* handle_ = nullptr;  // opaque handle from the shim
    std::string model_path_;
    int64_t bos_id_ = 1, eos_id_ = 2, pad_id_ = -1, unk_id_ = 0;
    bool add_bos_ = true, add_eos_ = false;
};

}  // namespace droplora::data
