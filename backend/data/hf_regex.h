// A Split pre-tokenizer's regex, compiled by PCRE2 in UTF + UCP mode with its JIT
// (docs/tokenizers.md, "Regexes"). Hugging Face compiles these patterns with
// Oniguruma; in UCP mode PCRE2 reads \s, \p{L}, \p{N} and (?i:…) the same way
// (\s is Unicode White_Space: U+0085 matches, U+FEFF does not).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace droplora::data {

class HfRegex {
public:
    // Throws droplora::Error "<where>: cannot compile the regex …" on a bad pattern.
    HfRegex(const std::string& pattern, const std::string& where);
    ~HfRegex();
    HfRegex(const HfRegex&) = delete;
    HfRegex& operator=(const HfRegex&) = delete;

    // Every non-overlapping, non-empty match of `text` from left to right, as [start, end) byte offsets.
    std::vector<std::pair<std::size_t, std::size_t>> find_all(const std::string& text) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string where_;
};

}  // namespace droplora::data
