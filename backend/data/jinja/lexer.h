// Jinja2's lexer as transformers configures it (trim_blocks, lstrip_blocks,
// default delimiters, keep_trailing_newline off; docs/chat-templates.md).
// Whitespace control is applied here, as Jinja2 does: the data tokens already
// hold the text that will be written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace droplora::data::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
    Tok type = Tok::Eof;
    std::string text;  // data, name, operator, or the decoded string literal
    int line = 1;
    int64_t int_value = 0;
    double float_value = 0.0;
};

// Throws Error("<name>:<line>: …") on a malformed tag.
std::vector<Token> lex(const std::string& source, const std::string& name);

}  // namespace droplora::data::jinja
