#include "data/unicode_text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace droplora::data::unicode {

char32_t decode_at(const std::string& s, std::size_t i, std::size_t* len) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const std::size_t left = s.size() - i;
    auto cont = [&](std::size_t k) { return k < left && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
    auto at = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
    if (b0 < 0x80) {
        *len = 1;
        return b0;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
        *len = 2;
        return (static_cast<char32_t>(b0 & 0x1F) << 6) | at(1);
    }
    if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
        const char32_t c = (static_cast<char32_t>(b0 & 0x0F) << 12) | (at(1) << 6) | at(2);
        if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
            *len = 3;
            return c;
        }
    }
    if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        const char32_t c = (static_cast<char32_t>(b0 & 0x07) << 18) | (at(1) << 12) | (at(2) << 6) | at(3);
        if (c >= 0x10000 && c <= 0x10FFFF) {
            *len = 4;
            return c;
        }
    }
    *len = 1;
    return 0xFFFD;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

bool is_valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t len = 0;
        const char32_t c = decode_at(s, i, &len);
        if (c == 0xFFFD && len == 1) return false;
        i += len;
    }
    return true;
}

std::string lossy_utf8(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t len = 0;
        const char32_t c = decode_at(s, i, &len);
        if (c == 0xFFFD && len == 1) {
            // One U+FFFD per maximal subpart: a valid lead byte swallows the continuation
            // bytes that could still belong to it.
            const auto b0 = static_cast<unsigned char>(s[i]);
            std::size_t need = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xC2 && b0 <= 0xDF ? 2 : 1;
            std::size_t k = 1;
            while (k < need && i + k < s.size()) {
                const auto b = static_cast<unsigned char>(s[i + k]);
                unsigned char lo = 0x80, hi = 0xBF;
                if (k == 1 && b0 == 0xE0) lo = 0xA0;
                if (k == 1 && b0 == 0xED) hi = 0x9F;
                if (k == 1 && b0 == 0xF0) lo = 0x90;
                if (k == 1 && b0 == 0xF4) hi = 0x8F;
                if (b < lo || b > hi) break;
                ++k;
            }
            out += "\xEF\xBF\xBD";
            i += k;
            continue;
        }
        out.append(s, i, len);
        i += len;
    }
    return out;
}

bool is_white_space(char32_t c) {
    return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool is_word_char(char32_t c) {
    const auto u = static_cast<UChar32>(c);
    if (u_isUAlphabetic(u)) return true;
    switch (u_charType(u)) {
        case U_DECIMAL_DIGIT_NUMBER:
        case U_NON_SPACING_MARK:
        case U_ENCLOSING_MARK:
        case U_COMBINING_SPACING_MARK:
        case U_CONNECTOR_PUNCTUATION:
            return true;
        default:
            return false;
    }
}

bool normalize(const std::string& form, const std::string& in, std::string& out) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = nullptr;
    if (form == "NFC") n = icu::Normalizer2::getNFCInstance(status);
    else if (form == "NFD") n = icu::Normalizer2::getNFDInstance(status);
    else if (form == "NFKC") n = icu::Normalizer2::getNFKCInstance(status);
    else if (form == "NFKD") n = icu::Normalizer2::getNFKDInstance(status);
    if (n == nullptr || U_FAILURE(status)) return false;
    // Most text is already normalized; ASCII always is.
    bool ascii = true;
    for (char ch : in) {
        if (static_cast<unsigned char>(ch) >= 0x80) {
            ascii = false;
            break;
        }
    }
    if (ascii) {
        out = in;
        return true;
    }
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(is_valid_utf8(in) ? in : lossy_utf8(in));
    if (n->isNormalized(u, status) && U_SUCCESS(status)) {
        out = in;
        return true;
    }
    status = U_ZERO_ERROR;
    const icu::UnicodeString r = n->normalize(u, status);
    if (U_FAILURE(status)) return false;
    out.clear();
    r.toUTF8String(out);
    return true;
}

}  // namespace droplora::data::unicode
