// tokenizer.json "decoder": tokens back to text (docs/tokenizers.md, "Decoding"):
// ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace droplora::data {

class HfDecoder {
public:
    virtual ~HfDecoder() = default;
    // One step of Hugging Face's decode chain: tokens in, tokens out.
    virtual void apply(std::vector<std::string>& tokens) const = 0;
    // Whether this decoder (or a step of it) is ByteLevel.
    virtual bool byte_level() const { return false; }
};

std::unique_ptr<HfDecoder> parse_hf_decoder(const nlohmann::json& j, const std::string& file);

// The whole decode: the chain, then the tokens joined (no decoder: joined with spaces).
std::string hf_decode(const HfDecoder* decoder, std::vector<std::string> tokens);

}  // namespace droplora::data
