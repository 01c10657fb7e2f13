// Errors the engine throws. Every message is one line that names the file
// (or setting) and what is wrong, so a front end can show it as it is:
//   "/models/x/config.json: num_attention_heads (12) does not divide hidden_size (1000)"
// Thrown deep inside, caught once at the boundary (CLI main, GUI controller).
#pragma once

#include <stdexcept>
#include <string>

namespace droplora {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws Error("<where>: <what>").
[[noreturn]] void fail(const std::string& where, const std::string& what);

}  // namespace droplora
