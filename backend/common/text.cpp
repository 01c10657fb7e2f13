#include "common/text.h"

#include <cstdio>

namespace droplora {

std::string escape_control_chars(const std::string& s, bool backslash_quotes, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            if (backslash_quotes && (c == '"' || c == '\\')) out += '\\';
            out += s[i];
        }
    }
    if (s.size() > max) out += "...";
    return out;
}

}  // namespace droplora
