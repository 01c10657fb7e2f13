// tokenizer.json "added_tokens": tokens matched whole in the text before the
// normalizer and pre-tokenizer see it (docs/tokenizers.md, "Added tokens").
// Matching is leftmost-longest; lstrip / rstrip take the whitespace beside a
// match into it, single_word refuses a match inside a word. Tokens with
// normalized: false are looked for in the raw text, those with normalized: true
// in the normalized text (their content normalized the same way).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace droplora::data {

class HfNormalizer;

struct HfAddedToken {
    int32_t id = -1;
    std::string content;
    bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// A stretch of text (id −1) or one added token.
struct HfSegment {
    std::string text;
    int32_t id = -1;
    bool at_start = false;
};

class HfAddedTokens {
public:
    HfAddedTokens() = default;
    HfAddedTokens(std::vector<HfAddedToken> tokens, const HfNormalizer* normalizer);

    // Splits `text` at the tokens of one set (normalized: false, or true).
    void split(const std::string& text, bool at_start, bool normalized_set, std::vector<HfSegment>& out) const;

    const std::vector<HfAddedToken>& tokens() const { return tokens_; }
    const HfAddedToken* find_id(int32_t id) const;
    const HfAddedToken* find_content(const std::string& content) const;

private:
    struct Trie {
        std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) → node
        std::vector<int32_t> terminal{-1};             // node → index in tokens_, or −1
        bool first_byte[256] = {};
        int32_t nodes = 1;
        bool empty() const { return nodes == 1; }
        void insert(const std::string& key, int32_t token);
        // Longest key starting at text[pos]: its length and token, or {0, −1}.
        std::pair<std::size_t, int32_t> longest_at(const std::string& text, std::size_t pos) const;
    };
    std::vector<HfAddedToken> tokens_;
    Trie raw_, normalized_;
    std::unordered_map<int32_t, std::size_t> by_id_;
    std::unordered_map<std::string, std::size_t> by_content_;
};

}  // namespace droplora::data
