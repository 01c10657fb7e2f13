// tokenizer.json "normalizer": what Hugging Face applies to each stretch of text
// between added tokens before pre-tokenization (docs/tokenizers.md, "Normalizers").
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace droplora::data {

class HfNormalizer {
public:
    virtual ~HfNormalizer() = default;
    virtual void apply(std::string& text) const = 0;
};

// null → nullptr (no normalizer). An unsupported type is an Error naming `file` and the type.
std::unique_ptr<HfNormalizer> parse_hf_normalizer(const nlohmann::json& j, const std::string& file);

}  // namespace droplora::data
