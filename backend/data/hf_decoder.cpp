#include "data/hf_decoder.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/hf_json.h"
#include "data/hf_pretokenizer.h"
#include "data/hf_regex.h"
#include "data/unicode_text.h"

namespace droplora::data {
namespace {

using nlohmann::json;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return;
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
        out.append(s, pos, hit - pos);
        out += to;
    }
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

class Sequence : public HfDecoder {
public:
    std::vector<std::unique_ptr<HfDecoder>> steps;
    void apply(std::vector<std::string>& tokens) const override {
        for (const auto& s : steps) s->apply(tokens);
    }
    bool byte_level() const override {
        for (const auto& s : steps)
            if (s->byte_level()) return true;
        return false;
    }
};

// Each token's characters back to bytes (a token with a character outside the map
// keeps its own UTF-8), all bytes joined and read as lossy UTF-8.
class ByteLevel : public HfDecoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const std::string& t : tokens) {
            std::string mine;
            bool mapped = true;
            for (std::size_t i = 0; i < t.size() && mapped;) {
                std::size_t len = 0;
                const int b = byte_level_byte(unicode::decode_at(t, i, &len));
                if (b < 0) mapped = false;
                else mine += static_cast<char>(b);
                i += len;
            }
            bytes += mapped ? mine : t;
        }
        tokens.assign(1, unicode::lossy_utf8(bytes));
    }
    bool byte_level() const override { return true; }
};

class Metaspace : public HfDecoder {
public:
    std::string replacement;
    bool prepend = true;  // prepend_scheme other than "never": the first token loses its replacement characters
    void apply(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], replacement, i == 0 && prepend ? "" : " ");
    }
};

class Replace : public HfDecoder {
public:
    std::string pattern, content;
    std::unique_ptr<HfRegex> regex;
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            if (!regex) {
                replace_all(t, pattern, content);
                continue;
            }
            std::string out;
            std::size_t pos = 0;
            for (const auto& [s, e] : regex->find_all(t)) {
                out.append(t, pos, s - pos);
                out += content;
                pos = e;
            }
            out.append(t, pos, std::string::npos);
            t.swap(out);
        }
    }
};

int byte_token_value(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; ++k) {
        const char c = t[static_cast<std::size_t>(k)];
        v = v * 16 + (c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1000);
    }
    return v >= 0 ? v : -1;
}

// Runs of <0xXX> tokens become their bytes when those are valid UTF-8, else one U+FFFD per byte.
class ByteFallback : public HfDecoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string pending;
        std::size_t pending_count = 0;
        auto flush = [&] {
            if (pending_count == 0) return;
            if (unicode::is_valid_utf8(pending)) {
                out.push_back(pending);
            } else {
                for (std::size_t k = 0; k < pending_count; ++k) out.emplace_back("\xEF\xBF\xBD");
            }
            pending.clear();
            pending_count = 0;
        };
        for (auto& t : tokens) {
            const int b = byte_token_value(t);
            if (b >= 0) {
                pending += static_cast<char>(b);
                ++pending_count;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens.swap(out);
    }
};

class Fuse : public HfDecoder {
public:
    void apply(std::vector<std::string>& tokens) const override {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, all);
    }
};

// Strip: up to `start` leading and `stop` trailing `content` characters off each token.
class Strip : public HfDecoder {
public:
    std::string content;
    long long start = 0, stop = 0;
    void apply(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            std::size_t b = 0, e = t.size();
            for (long long k = 0; k < start && t.compare(b, content.size(), content) == 0 && b < e; ++k)
                b += content.size();
            for (long long k = 0; k < stop && e >= b + content.size() &&
                                  t.compare(e - content.size(), content.size(), content) == 0;
                 ++k)
                e -= content.size();
            t = t.substr(b, e - b);
        }
    }
};

}  // namespace

std::unique_ptr<HfDecoder> parse_hf_decoder(const json& j, const std::string& file) {
    if (j.is_null()) return nullptr;
    const std::string type = hf_json::type_of(j, file, "decoder");
    const std::string component = "decoder " + type;
    if (type == "Sequence") {
        auto seq = std::make_unique<Sequence>();
        for (const auto& d : hf_json::array_at(j, "decoders", file, component)) {
            if (auto step = parse_hf_decoder(d, file)) seq->steps.push_back(std::move(step));
        }
        return seq;
    }
    if (type == "ByteLevel") return std::make_unique<ByteLevel>();
    if (type == "Metaspace") {
        auto m = std::make_unique<Metaspace>();
        m->replacement = hf_json::string_at(j, "replacement", file, component);
        if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null())
            m->prepend = hf_json::string_at(j, "prepend_scheme", file, component) != "never";
        else
            m->prepend = hf_json::bool_at(j, "add_prefix_space", true, file, component);
        return m;
    }
    if (type == "Replace") {
        auto r = std::make_unique<Replace>();
        r->content = hf_json::string_at(j, "content", file, component);
        const auto p = hf_json::pattern_of(j, file, component);
        if (p.is_regex) r->regex = std::make_unique<HfRegex>(p.text, file + ": " + component);
        else r->pattern = p.text;
        return r;
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallback>();
    if (type == "Fuse") return std::make_unique<Fuse>();
    if (type == "Strip") {
        auto s = std::make_unique<Strip>();
        s->content = hf_json::string_at(j, "content", file, component);
        s->start = hf_json::int_at(j, "start", 0, file, component);
        s->stop = hf_json::int_at(j, "stop", 0, file, component);
        if (s->content.empty()) fail(file, component + ": \"content\" is empty");
        return s;
    }
    fail(file, "decoder type '" + type +
                   "' is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)");
}

std::string hf_decode(const HfDecoder* decoder, std::vector<std::string> tokens) {
    if (decoder == nullptr) {
        std::string out;
        for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
        return out;
    }
    decoder->apply(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
}

}  // namespace droplora::data
