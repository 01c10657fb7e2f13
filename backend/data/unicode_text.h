// UTF-8 helpers of the tokenizer.json implementation (docs/tokenizers.md).
// Character classes and normalization come from ICU, never from our own tables.
#pragma once

#include <cstddef>
#include <string>

namespace droplora::data::unicode {

// The code point starting at s[i] and its byte length; an invalid or truncated
// sequence reads as one byte (code point U+FFFD, length 1).
char32_t decode_at(const std::string& s, std::size_t i, std::size_t* len);
void append_utf8(std::string& out, char32_t c);
bool is_valid_utf8(const std::string& s);
// Invalid sequences become U+FFFD, one per maximal invalid subpart (as Rust's
// String::from_utf8_lossy, which Hugging Face's decoders use).
std::string lossy_utf8(const std::string& s);

// Unicode White_Space (U+0085 yes, U+FEFF no): Rust's char::is_whitespace.
bool is_white_space(char32_t c);
// Alphabetic, marks, decimal digits or connector punctuation (a regex \w).
bool is_word_char(char32_t c);

// Unicode normalization forms through ICU; "NFC", "NFD", "NFKC", "NFKD".
// Returns false for an unknown form. Invalid UTF-8 is first made lossy.
bool normalize(const std::string& form, const std::string& in, std::string& out);

}  // namespace droplora::data::unicode
