// Text from files (names, keys, values, parser messages) on its way into a
// one-line message or a YAML scalar.
#pragma once

#include <cstddef>
#include <string>

namespace droplora {

// Control characters as \xNN (also a valid YAML double-quoted escape); with
// `backslash_quotes`, '"' and '\' are backslash-escaped too. At most `max`
// input bytes are taken; "..." marks a cut.
std::string escape_control_chars(const std::string& s, bool backslash_quotes = false,
                                 std::size_t max = std::string::npos);

}  // namespace droplora
