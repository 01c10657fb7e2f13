#include "data/hf_pretokenizer.h"

#include <algorithm>
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/hf_json.h"
#include "data/hf_regex.h"
#include "data/unicode_text.h"

namespace droplora::data {
namespace {

using nlohmann::json;
using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const json& j, const std::string& file, const std::string& component) {
    const std::string b = hf_json::string_at(j, "behavior", file, component);
    if (b == "Removed") return Behavior::Removed;
    if (b == "Isolated") return Behavior::Isolated;
    if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (b == "MergedWithNext") return Behavior::MergedWithNext;
    if (b == "Contiguous") return Behavior::Contiguous;
    fail(file, component + ": behavior '" + b + "' is not supported");
}

// Splits `piece` at `matches` the way Hugging Face's NormalizedString::split does.
void split_piece(const HfPiece& piece, const Ranges& matches, Behavior behavior, bool invert,
                 std::vector<HfPiece>& out) {
    struct Part {
        std::size_t b, e;
        bool is_match;
    };
    std::vector<Part> parts;
    std::size_t prev = 0;
    for (const auto& [s, e] : matches) {
        if (s > prev) parts.push_back({prev, s, invert});
        parts.push_back({s, e, !invert});
        prev = e;
    }
    if (prev < piece.text.size()) parts.push_back({prev, piece.text.size(), invert});

    std::vector<std::pair<std::size_t, std::size_t>> kept;
    switch (behavior) {
        case Behavior::Removed:
            for (const auto& p : parts)
                if (!p.is_match) kept.emplace_back(p.b, p.e);
            break;
        case Behavior::Isolated:
            for (const auto& p : parts) kept.emplace_back(p.b, p.e);
            break;
        case Behavior::Contiguous: {
            bool previous = false;
            for (const auto& p : parts) {
                if (p.is_match && previous && !kept.empty()) kept.back().second = p.e;
                else kept.emplace_back(p.b, p.e);
                previous = p.is_match;
            }
            break;
        }
        case Behavior::MergedWithPrevious: {
            bool previous = false;
            for (const auto& p : parts) {
                if (p.is_match && !previous && !kept.empty()) kept.back().second = p.e;
                else kept.emplace_back(p.b, p.e);
                previous = p.is_match;
            }
            break;
        }
        case Behavior::MergedWithNext: {
            bool previous = false;
            for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
                if (it->is_match && !previous && !kept.empty()) kept.back().first = it->b;
                else kept.emplace_back(it->b, it->e);
                previous = it->is_match;
            }
            std::reverse(kept.begin(), kept.end());
            break;
        }
    }
    for (const auto& [b, e] : kept) {
        if (e > b) out.push_back({piece.text.substr(b, e - b), piece.at_start && b == 0});
    }
}

Ranges literal_matches(const std::string& text, const std::string& literal) {
    Ranges out;
    if (literal.empty()) return out;
    for (std::size_t pos = 0; (pos = text.find(literal, pos)) != std::string::npos; pos += literal.size())
        out.emplace_back(pos, pos + literal.size());
    return out;
}

class Sequence : public HfPreTokenizer {
public:
    std::vector<std::unique_ptr<HfPreTokenizer>> steps;
    void apply(std::vector<HfPiece>& pieces) const override {
        for (const auto& s : steps) s->apply(pieces);
    }
};

class Split : public HfPreTokenizer {
public:
    std::unique_ptr<HfRegex> regex;  // or
    std::string literal;
    Behavior behavior = Behavior::Isolated;
    bool invert = false;
    void apply(std::vector<HfPiece>& pieces) const override {
        std::vector<HfPiece> out;
        out.reserve(pieces.size() * 4);
        for (const auto& p : pieces)
            split_piece(p, regex ? regex->find_all(p.text) : literal_matches(p.text, literal), behavior, invert, out);
        pieces.swap(out);
    }
};

// GPT-2's own word regex, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public HfPreTokenizer {
public:
    bool add_prefix_space = false;
    std::unique_ptr<HfRegex> regex;  // set when use_regex
    void apply(std::vector<HfPiece>& pieces) const override {
        std::vector<HfPiece> split;
        split.reserve(pieces.size() * 4);
        for (auto& p : pieces) {
            if (add_prefix_space && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
            if (regex) split_piece(p, regex->find_all(p.text), Behavior::Isolated, false, split);
            else if (!p.text.empty()) split.push_back(std::move(p));
        }
        for (auto& p : split) p.text = byte_level_encode(p.text);
        pieces.swap(split);
    }
};

class Metaspace : public HfPreTokenizer {
public:
    std::string replacement;
    enum class Prepend { Always, First, Never } prepend = Prepend::Always;
    bool split = true;
    void apply(std::vector<HfPiece>& pieces) const override {
        std::vector<HfPiece> out;
        out.reserve(pieces.size() * 4);
        for (auto& p : pieces) {
            std::string t;
            t.reserve(p.text.size() + 8);
            for (char c : p.text) {
                if (c == ' ') t += replacement;
                else t += c;
            }
            const bool starts = t.compare(0, replacement.size(), replacement) == 0;
            if (!starts && (prepend == Prepend::Always || (prepend == Prepend::First && p.at_start)))
                t.insert(0, replacement);
            HfPiece q{std::move(t), p.at_start};
            if (split) split_piece(q, literal_matches(q.text, replacement), Behavior::MergedWithNext, false, out);
            else if (!q.text.empty()) out.push_back(std::move(q));
        }
        pieces.swap(out);
    }
};

struct ByteTable {
    std::array<std::string, 256> chars;
    std::array<int, 324> bytes{};  // code points below U+0144
    ByteTable() {
        bytes.fill(-1);
        int next = 0;
        for (int b = 0; b < 256; ++b) {
            const bool keeps = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const char32_t c = keeps ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
            unicode::append_utf8(chars[b], c);
            bytes[c] = b;
        }
    }
};

const ByteTable& byte_table() {
    static const ByteTable t;
    return t;
}

}  // namespace

const std::string& byte_level_char(unsigned char b) {
    return byte_table().chars[b];
}

int byte_level_byte(char32_t c) {
    return c < byte_table().bytes.size() ? byte_table().bytes[c] : -1;
}

std::string byte_level_encode(const std::string& bytes) {
    const ByteTable& t = byte_table();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += t.chars[static_cast<unsigned char>(c)];
    return out;
}

std::unique_ptr<HfPreTokenizer> parse_hf_pre_tokenizer(const json& j, const std::string& file) {
    if (j.is_null()) return nullptr;
    const std::string type = hf_json::type_of(j, file, "pre_tokenizer");
    const std::string component = "pre_tokenizer " + type;
    if (type == "Sequence") {
        auto seq = std::make_unique<Sequence>();
        for (const auto& p : hf_json::array_at(j, "pretokenizers", file, component)) {
            if (auto step = parse_hf_pre_tokenizer(p, file)) seq->steps.push_back(std::move(step));
        }
        return seq;
    }
    if (type == "Split") {
        auto s = std::make_unique<Split>();
        const auto pattern = hf_json::pattern_of(j, file, component);
        if (pattern.is_regex) s->regex = std::make_unique<HfRegex>(pattern.text, file + ": " + component);
        else s->literal = pattern.text;
        s->behavior = parse_behavior(j, file, component);
        s->invert = hf_json::bool_at(j, "invert", false, file, component);
        return s;
    }
    if (type == "ByteLevel") {
        auto b = std::make_unique<ByteLevel>();
        b->add_prefix_space = hf_json::bool_at(j, "add_prefix_space", true, file, component);
        if (hf_json::bool_at(j, "use_regex", true, file, component))
            b->regex = std::make_unique<HfRegex>(kGpt2Regex, file + ": " + component);
        return b;
    }
    if (type == "Metaspace") {
        auto m = std::make_unique<Metaspace>();
        m->replacement = hf_json::string_at(j, "replacement", file, component);
        if (m->replacement.empty()) fail(file, component + ": \"replacement\" is empty");
        m->split = hf_json::bool_at(j, "split", true, file, component);
        if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
            const std::string scheme = hf_json::string_at(j, "prepend_scheme", file, component);
            if (scheme == "always") m->prepend = Metaspace::Prepend::Always;
            else if (scheme == "first") m->prepend = Metaspace::Prepend::First;
            else if (scheme == "never") m->prepend = Metaspace::Prepend::Never;
            else fail(file, component + ": prepend_scheme '" + scheme + "' is not supported");
        } else {
            m->prepend = hf_json::bool_at(j, "add_prefix_space", true, file, component) ? Metaspace::Prepend::Always
                                                                                         : Metaspace::Prepend::Never;
        }
        return m;
    }
    fail(file, "pre_tokenizer type '" + type + "' is not supported (supported: Sequence, Split, ByteLevel, Metaspace)");
}

}  // namespace droplora::data
