// A sentencepiece model's vocabulary as it is written out for other runtimes
// (the GGUF export, docs/gguf.md): every piece with its score and ModelProto
// type, and the normalizer flags. Read through the shim (data/spm_shim.h), as
// the tokenizer reads everything else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace droplora::data {

struct SpmVocab {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<int32_t> types;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = true;
};

// `model_file` is a tokenizer.model; Error naming it when it cannot be read.
SpmVocab read_spm_vocab(const std::string& model_file);

}  // namespace droplora::data
