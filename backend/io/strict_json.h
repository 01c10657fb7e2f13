// Text and JSON helpers of the checkpoint readers (safetensors headers, shard
// indexes): they read untrusted bytes, so every check is strict and every
// message one line. Torch-free; fuzzed and run under AddressSanitizer with the
// safetensors reader.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace droplora::io::strict {

using Json = nlohmann::ordered_json;  // ordered: keys keep the file's order

constexpr std::size_t kMaxListItems = 1024;  // no shape has this many dimensions

// Text from untrusted input (names, JSON snippets, parser messages) made fit
// for a one-line error: control characters escaped, length capped at `max`.
std::string one_line(const std::string& s, std::size_t max = 200);
// one_line(s) in single quotes.
std::string quoted(const std::string& s);
// "<where>: tensor '<name>'", the prefix of every error about one tensor.
std::string tensor_where(const std::string& where, const std::string& name);
// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF);
// on failure *bad_at is the offset of the first bad byte.
bool valid_utf8(const std::string& s, std::size_t* bad_at);

// Called with the enclosing keys and the repeated key; must throw.
using DuplicateKeyFn = std::function<void(const std::vector<std::string>& path, const std::string& key)>;

// Parses JSON that must not repeat a key within an object (nlohmann keeps one
// silently), nests at most `max_depth` containers deep and has at most
// kMaxListItems items per list (bounds memory for hostile input). Throws
// Error("<where>: ...") for anything else that is wrong. O(n log n) in the
// number of keys (a 200k-key safetensors header parses in well under a second).
Json parse_strict_json(const std::string& text, std::size_t max_depth, const std::string& where,
                       const DuplicateKeyFn& describe_duplicate);

// Appends key: value to a Json object without looking the key up (Json's own
// insert is linear in the object's size). The caller ensures the key is new.
void append_member(Json& object, std::string key, Json value);

// strerror(errno).
std::string errno_text();

}  // namespace droplora::io::strict
