// tokenizer.json "pre_tokenizer": splits normalized text into the words BPE sees
// (docs/tokenizers.md, "Pre-tokenizers"): Split (regex or string, all five
// delimiter behaviours), ByteLevel, Metaspace and Sequence.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace droplora::data {

struct HfPiece {
    std::string text;
    bool at_start = false;  // begins at offset 0 of the encoded text (Metaspace's prepend_scheme "first")
};

class HfPreTokenizer {
public:
    virtual ~HfPreTokenizer() = default;
    // Replaces `pieces` by their splits (empty pieces are dropped).
    virtual void apply(std::vector<HfPiece>& pieces) const = 0;
};

std::unique_ptr<HfPreTokenizer> parse_hf_pre_tokenizer(const nlohmann::json& j, const std::string& file);

// GPT-2's byte ↔ character map used by ByteLevel (printable bytes stay themselves,
// the others move to U+0100 onwards in byte order).
const std::string& byte_level_char(unsigned char b);
// The byte a ByteLevel character stands for, or -1.
int byte_level_byte(char32_t c);
std::string byte_level_encode(const std::string& bytes);

}  // namespace droplora::data
