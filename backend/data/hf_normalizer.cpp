#include "data/hf_normalizer.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/hf_regex.h"
#include "data/hf_json.h"
#include "data/unicode_text.h"

namespace droplora::data {
namespace {

using nlohmann::json;

class Sequence : public HfNormalizer {
public:
    std::vector<std::unique_ptr<HfNormalizer>> steps;
    void apply(std::string& text) const override {
        for (const auto& s : steps) s->apply(text);
    }
};

class UnicodeForm : public HfNormalizer {
public:
    std::string form, where;
    void apply(std::string& text) const override {
        std::string out;
        if (!unicode::normalize(form, text, out)) fail(where, "ICU cannot apply the " + form + " normalizer");
        text.swap(out);
    }
};

// Prepend: only a non-empty text gets the prefix.
class Prepend : public HfNormalizer {
public:
    std::string prefix;
    void apply(std::string& text) const override {
        if (!text.empty()) text.insert(0, prefix);
    }
};

class ReplaceString : public HfNormalizer {
public:
    std::string pattern, content;
    void apply(std::string& text) const override {
        if (pattern.empty() || text.find(pattern) == std::string::npos) return;
        std::string out;
        out.reserve(text.size() + text.size() / 4);
        std::size_t pos = 0;
        for (std::size_t hit; (hit = text.find(pattern, pos)) != std::string::npos; pos = hit + pattern.size()) {
            out.append(text, pos, hit - pos);
            out += content;
        }
        out.append(text, pos, std::string::npos);
        text.swap(out);
    }
};

class ReplaceRegex : public HfNormalizer {
public:
    std::unique_ptr<HfRegex> regex;
    std::string content;
    void apply(std::string& text) const override {
        const auto hits = regex->find_all(text);
        if (hits.empty()) return;
        std::string out;
        std::size_t pos = 0;
        for (const auto& [s, e] : hits) {
            out.append(text, pos, s - pos);
            out += content;
            pos = e;
        }
        out.append(text, pos, std::string::npos);
        text.swap(out);
    }
};

// Strip: White_Space off the left and/or right end.
class Strip : public HfNormalizer {
public:
    bool left = true, right = true;
    void apply(std::string& text) const override {
        std::size_t b = 0, e = text.size();
        while (left && b < e) {
            std::size_t len = 0;
            if (!unicode::is_white_space(unicode::decode_at(text, b, &len))) break;
            b += len;
        }
        while (right && e > b) {
            std::size_t s = e - 1;
            while (s > b && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
            std::size_t len = 0;
            if (!unicode::is_white_space(unicode::decode_at(text, s, &len))) break;
            e = s;
        }
        text = text.substr(b, e - b);
    }
};

}  // namespace

std::unique_ptr<HfNormalizer> parse_hf_normalizer(const json& j, const std::string& file) {
    if (j.is_null()) return nullptr;
    const std::string type = hf_json::type_of(j, file, "normalizer");
    const std::string where = file + ": normalizer " + type;
    if (type == "Sequence") {
        auto seq = std::make_unique<Sequence>();
        for (const auto& n : hf_json::array_at(j, "normalizers", file, "normalizer Sequence")) {
            if (auto step = parse_hf_normalizer(n, file)) seq->steps.push_back(std::move(step));
        }
        return seq;
    }
    if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
        auto n = std::make_unique<UnicodeForm>();
        n->form = type;
        n->where = file;
        return n;
    }
    if (type == "Prepend") {
        auto n = std::make_unique<Prepend>();
        n->prefix = hf_json::string_at(j, "prepend", file, "normalizer Prepend");
        return n;
    }
    if (type == "Replace") {
        const std::string content = hf_json::string_at(j, "content", file, "normalizer Replace");
        const auto pattern = hf_json::pattern_of(j, file, "normalizer Replace");
        if (pattern.is_regex) {
            auto n = std::make_unique<ReplaceRegex>();
            n->regex = std::make_unique<HfRegex>(pattern.text, where);
            n->content = content;
            return n;
        }
        auto n = std::make_unique<ReplaceString>();
        n->pattern = pattern.text;
        n->content = content;
        return n;
    }
    if (type == "Strip") {
        auto n = std::make_unique<Strip>();
        n->left = hf_json::bool_at(j, "strip_left", false, file, "normalizer Strip");
        n->right = hf_json::bool_at(j, "strip_right", false, file, "normalizer Strip");
        return n;
    }
    fail(file, "normalizer type '" + type +
                   "' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip)");
}

}  // namespace droplora::data
