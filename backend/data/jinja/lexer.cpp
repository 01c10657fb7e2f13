#include "data/jinja/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "common/error.h"
#include "data/jinja/value.h"

namespace droplora::data::jinja {
namespace {

// Jinja2 turns "\r\n" and "\r" into "\n" and drops one trailing newline.
std::string normalize_newlines(const std::string& src) {
    std::string out;
    out.reserve(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
        if (src[i] == '\r') {
            out += '\n';
            if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
        } else {
            out += src[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

// Length in bytes of the UTF-8 sequence at s[i], and its code point.
uint32_t code_point_at(const std::string& s, size_t i, size_t* len) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    if (i + n > s.size()) n = 1;
    *len = n;
    if (n == 1) return c;
    const std::vector<uint32_t> cp = decode_utf8(s.substr(i, n));
    return cp.empty() ? c : cp[0];
}

// Python's \s*: the end of the whitespace run starting at i.
size_t skip_space(const std::string& s, size_t i) {
    while (i < s.size()) {
        size_t len = 0;
        if (!is_py_space(code_point_at(s, i, &len))) break;
        i += len;
    }
    return i;
}

// str.rstrip(): the length of s without its trailing Python whitespace.
size_t rstrip_len(const std::string& s) {
    size_t end = s.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) --start;
        size_t len = 0;
        if (!is_py_space(code_point_at(s, start, &len))) break;
        end = start;
    }
    return end;
}

bool all_space(const std::string& s, size_t from) { return from < s.size() && skip_space(s, from) == s.size(); }

class Lexer {
public:
    Lexer(std::string src, const std::string& name) : s_(normalize_newlines(src)), name_(name) {}

    std::vector<Token> run() {
        bool line_starting = true;
        while (pos_ < s_.size()) {
            const size_t k = next_tag(pos_);
            std::string text = s_.substr(pos_, k - pos_);
            const int text_line = line_;
            if (k == s_.size()) {
                push_data(std::move(text), text_line);
                advance_to(k);
                break;
            }
            const char kind = s_[k + 1];  // '{' variable, '%' block, '#' comment
            const char sign = k + 2 < s_.size() ? s_[k + 2] : '\0';
            if (sign == '-') {
                text.resize(rstrip_len(text));
            } else if (sign != '+' && kind != '{') {
                // lstrip_blocks: spaces between the line start and a block/comment tag go.
                const size_t nl = text.rfind('\n');
                const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
                if ((l_pos > 0 || line_starting) && all_space(text, l_pos)) text.resize(l_pos);
            }
            push_data(std::move(text), text_line);
            advance_to(k + 2 + ((sign == '-' || sign == '+') ? 1 : 0));
            if (kind == '#') {
                line_starting = comment();
            } else {
                line_starting = tag(kind == '{');
            }
        }
        Token eof;
        eof.type = Tok::Eof;
        eof.line = line_;
        out_.push_back(eof);
        return std::move(out_);
    }

private:
    [[noreturn]] void error(const std::string& what) const { fail(name_ + ":" + std::to_string(line_), what); }

    size_t next_tag(size_t from) const {
        for (size_t i = from; i + 1 < s_.size(); ++i) {
            if (s_[i] == '{' && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
        }
        return s_.size();
    }

    void advance_to(size_t p) {
        for (size_t i = pos_; i < p && i < s_.size(); ++i)
            if (s_[i] == '\n') ++line_;
        pos_ = p;
    }

    void push_data(std::string text, int line) {
        if (text.empty()) return;
        Token t;
        t.type = Tok::Data;
        t.text = std::move(text);
        t.line = line;
        out_.push_back(std::move(t));
    }

    void push(Tok type, std::string text) {
        Token t;
        t.type = type;
        t.text = std::move(text);
        t.line = line_;
        out_.push_back(std::move(t));
    }

    // After "{#": up to "#}" ("-#}" strips the whitespace after, trim_blocks one newline).
    bool comment() {
        const size_t end = s_.find("#}", pos_);
        if (end == std::string::npos) error("unclosed comment '{#'");
        size_t after = end + 2;
        if (end > pos_ && s_[end - 1] == '-') {
            after = skip_space(s_, after);
        } else if (!(end > pos_ && s_[end - 1] == '+') && after < s_.size() && s_[after] == '\n') {
            ++after;
        }
        advance_to(after);
        return after > 0 && s_[after - 1] == '\n';
    }

    // After "{{" or "{%": expression tokens up to the closing delimiter.
    // Returns whether what it consumed ended with a newline (lstrip_blocks' line start).
    bool tag(bool variable) {
        push(variable ? Tok::VarBegin : Tok::BlockBegin, "");
        int depth = 0;  // open brackets: a closing delimiter inside them is an operator
        const char close = variable ? '}' : '%';
        for (;;) {
            if (pos_ >= s_.size()) error(variable ? "unclosed '{{'" : "unclosed '{%'");
            if (depth == 0) {
                size_t after = 0;
                bool strip = false, keep = false;
                if (s_.compare(pos_, 3, std::string("-") + close + "}") == 0) {
                    strip = true;
                    after = pos_ + 3;
                } else if (!variable && s_.compare(pos_, 3, "+%}") == 0) {
                    keep = true;
                    after = pos_ + 3;
                } else if (s_.compare(pos_, 2, std::string(1, close) + "}") == 0) {
                    after = pos_ + 2;
                }
                if (after) {
                    push(variable ? Tok::VarEnd : Tok::BlockEnd, "");
                    if (strip) {
                        after = skip_space(s_, after);
                    } else if (!variable && !keep && after < s_.size() && s_[after] == '\n') {
                        ++after;  // trim_blocks
                    }
                    advance_to(after);
                    return s_[after - 1] == '\n';
                }
            }
            const unsigned char c = static_cast<unsigned char>(s_[pos_]);
            size_t len = 0;
            if (is_py_space(code_point_at(s_, pos_, &len))) {
                advance_to(pos_ + len);
            } else if (std::isdigit(c)) {
                number();
            } else if (std::isalpha(c) || c == '_') {
                size_t e = pos_;
                while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
                push(Tok::Name, s_.substr(pos_, e - pos_));
                advance_to(e);
            } else if (c == '\'' || c == '"') {
                string_literal();
            } else {
                op(depth);
            }
        }
    }

    void number() {
        size_t e = pos_;
        const auto digits = [&]() {
            while (e < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
        };
        digits();
        bool is_float = false;
        if (e + 1 < s_.size() && s_[e] == '.' && std::isdigit(static_cast<unsigned char>(s_[e + 1]))) {
            is_float = true;
            ++e;
            digits();
        }
        if (e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
            size_t x = e + 1;
            if (x < s_.size() && (s_[x] == '+' || s_[x] == '-')) ++x;
            if (x < s_.size() && std::isdigit(static_cast<unsigned char>(s_[x]))) {
                is_float = true;
                e = x;
                digits();
            }
        }
        std::string text;
        for (size_t i = pos_; i < e; ++i)
            if (s_[i] != '_') text += s_[i];
        Token t;
        t.type = is_float ? Tok::Float : Tok::Int;
        t.text = text;
        t.line = line_;
        if (is_float) {
            t.float_value = std::strtod(text.c_str(), nullptr);
        } else {
            errno = 0;
            t.int_value = std::strtoll(text.c_str(), nullptr, 10);
            if (errno == ERANGE) error("integer literal too large: " + text);
        }
        out_.push_back(std::move(t));
        advance_to(e);
    }

    // A quoted literal with Python's unicode-escape sequences.
    void string_literal() {
        const char q = s_[pos_];
        const int start_line = line_;
        std::string value;
        size_t i = pos_ + 1;
        for (;;) {
            if (i >= s_.size()) error("unclosed string literal");
            const char c = s_[i];
            if (c == q) break;
            if (c != '\\') {
                value += c;
                ++i;
                continue;
            }
            if (i + 1 >= s_.size()) error("unclosed string literal");
            const char e = s_[i + 1];
            i += 2;
            switch (e) {
                case '\n':
                    break;
                case '\\':
                case '\'':
                case '"':
                    value += e;
                    break;
                case 'a':
                    value += '\a';
                    break;
                case 'b':
                    value += '\b';
                    break;
                case 'f':
                    value += '\f';
                    break;
                case 'n':
                    value += '\n';
                    break;
                case 'r':
                    value += '\r';
                    break;
                case 't':
                    value += '\t';
                    break;
                case 'v':
                    value += '\v';
                    break;
                case 'x':
                case 'u':
                case 'U': {
                    const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + n > s_.size()) error(std::string("truncated \\") + e + " escape in a string literal");
                    const std::string hex = s_.substr(i, n);
                    for (char h : hex)
                        if (!std::isxdigit(static_cast<unsigned char>(h)))
                            error(std::string("truncated \\") + e + " escape in a string literal");
                    append_utf8(value, static_cast<uint32_t>(std::strtoul(hex.c_str(), nullptr, 16)));
                    i += n;
                    break;
                }
                case 'N':
                    error("\\N{...} escapes are not supported in string literals");
                default:
                    if (e >= '0' && e <= '7') {
                        uint32_t v = static_cast<uint32_t>(e - '0');
                        for (int k = 0; k < 2 && i < s_.size() && s_[i] >= '0' && s_[i] <= '7'; ++k, ++i)
                            v = v * 8 + static_cast<uint32_t>(s_[i] - '0');
                        append_utf8(value, v);
                    } else {
                        value += '\\';
                        value += e;
                    }
            }
        }
        Token t;
        t.type = Tok::String;
        t.text = std::move(value);
        t.line = start_line;
        out_.push_back(std::move(t));
        advance_to(i + 1);
    }

    void op(int& depth) {
        static const char* const two[] = {"//", "**", "==", "!=", ">=", "<="};
        for (const char* o : two) {
            if (s_.compare(pos_, 2, o) == 0) {
                push(Tok::Op, o);
                advance_to(pos_ + 2);
                return;
            }
        }
        const char c = s_[pos_];
        if (std::string("+-/*%~[](){}><=.:|,;").find(c) == std::string::npos)
            error(std::string("unexpected character '") + c + "' in a tag");
        if (c == '(' || c == '[' || c == '{') ++depth;
        if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) error(std::string("unexpected '") + c + "'");
            --depth;
        }
        push(Tok::Op, std::string(1, c));
        advance_to(pos_ + 1);
    }

    std::string s_;
    std::string name_;
    size_t pos_ = 0;
    int line_ = 1;
    std::vector<Token> out_;
};

}  // namespace

std::vector<Token> lex(const std::string& source, const std::string& name) { return Lexer(source, name).run(); }

}  // namespace droplora::data::jinja
