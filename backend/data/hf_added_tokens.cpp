#include "data/hf_added_tokens.h"

#include "data/hf_normalizer.h"
#include "data/unicode_text.h"

namespace droplora::data {

void HfAddedTokens::Trie::insert(const std::string& key, int32_t token) {
    if (key.empty()) return;
    int32_t node = 0;
    first_byte[static_cast<unsigned char>(key[0])] = true;
    for (char c : key) {
        const uint64_t edge = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(c);
        auto it = edges.find(edge);
        if (it == edges.end()) {
            it = edges.emplace(edge, nodes++).first;
            terminal.push_back(-1);
        }
        node = it->second;
    }
    // The first token with this content keeps it.
    if (terminal[static_cast<std::size_t>(node)] < 0) terminal[static_cast<std::size_t>(node)] = token;
}

std::pair<std::size_t, int32_t> HfAddedTokens::Trie::longest_at(const std::string& text, std::size_t pos) const {
    std::pair<std::size_t, int32_t> best{0, -1};
    int32_t node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
        auto it = edges.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[i]));
        if (it == edges.end()) break;
        node = it->second;
        if (const int32_t t = terminal[static_cast<std::size_t>(node)]; t >= 0) best = {i + 1 - pos, t};
    }
    return best;
}

HfAddedTokens::HfAddedTokens(std::vector<HfAddedToken> tokens, const HfNormalizer* normalizer)
    : tokens_(std::move(tokens)) {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        const HfAddedToken& t = tokens_[i];
        by_id_.emplace(t.id, i);
        by_content_.emplace(t.content, i);
        if (t.normalized && normalizer != nullptr) {
            std::string key = t.content;
            normalizer->apply(key);
            normalized_.insert(key, static_cast<int32_t>(i));
        } else if (t.normalized) {
            normalized_.insert(t.content, static_cast<int32_t>(i));
        } else {
            raw_.insert(t.content, static_cast<int32_t>(i));
        }
    }
}

const HfAddedToken* HfAddedTokens::find_id(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const HfAddedToken* HfAddedTokens::find_content(const std::string& content) const {
    auto it = by_content_.find(content);
    return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

namespace {

// The code point that ends just before byte `pos`.
char32_t char_before(const std::string& s, std::size_t pos, std::size_t* start) {
    std::size_t b = pos - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    std::size_t len = 0;
    *start = b;
    return unicode::decode_at(s, b, &len);
}

}  // namespace

void HfAddedTokens::split(const std::string& text, bool at_start, bool normalized_set,
                          std::vector<HfSegment>& out) const {
    const Trie& trie = normalized_set ? normalized_ : raw_;
    if (trie.empty() || text.empty()) {
        if (!text.empty()) out.push_back({text, -1, at_start});
        return;
    }
    std::size_t emitted = 0;  // text before this offset is already in `out`
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
            ++pos;
            continue;
        }
        const auto [len, index] = trie.longest_at(text, pos);
        if (index < 0) {
            ++pos;
            continue;
        }
        const HfAddedToken& tok = tokens_[static_cast<std::size_t>(index)];
        std::size_t start = pos, stop = pos + len;
        if (tok.single_word) {
            std::size_t ignored = 0, clen = 0;
            const bool word_before = start > 0 && unicode::is_word_char(char_before(text, start, &ignored));
            const bool word_after = stop < text.size() && unicode::is_word_char(unicode::decode_at(text, stop, &clen));
            if (word_before || word_after) {
                pos += len;  // the refused match is consumed, as Hugging Face's match iterator does
                continue;
            }
        }
        if (tok.lstrip) {
            while (start > emitted) {
                std::size_t cstart = 0;
                if (!unicode::is_white_space(char_before(text, start, &cstart))) break;
                start = cstart;
            }
        }
        if (tok.rstrip) {
            while (stop < text.size()) {
                std::size_t clen = 0;
                if (!unicode::is_white_space(unicode::decode_at(text, stop, &clen))) break;
                stop += clen;
            }
        }
        if (start > emitted) out.push_back({text.substr(emitted, start - emitted), -1, at_start && emitted == 0});
        out.push_back({tok.content, tok.id, at_start && start == 0});
        emitted = pos = stop;
    }
    if (emitted < text.size()) out.push_back({text.substr(emitted), -1, at_start && emitted == 0});
}

}  // namespace droplora::data
