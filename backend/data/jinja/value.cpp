#include "data/jinja/value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace droplora::data::jinja {

const Value* Dict::find(const std::string& key) const {
    for (const auto& kv : items)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

Value* Dict::find(const std::string& key) {
    for (auto& kv : items)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

void Dict::set(const std::string& key, Value v) {
    if (Value* old = find(key)) {
        *old = std::move(v);
        return;
    }
    items.emplace_back(key, std::move(v));
}

Value::Value() = default;
Value::Value(std::nullptr_t) : kind_(Kind::None) {}
Value::Value(bool b) : kind_(Kind::Bool), b_(b), i_(b ? 1 : 0) {}
Value::Value(int64_t v) : kind_(Kind::Int), b_(v != 0), i_(v) {}
Value::Value(double v) : kind_(Kind::Float), b_(v != 0.0), f_(v) {}
Value::Value(std::string s) : kind_(Kind::String), b_(!s.empty()), s_(std::move(s)) {}

Value Value::undefined(std::string hint) {
    Value v;
    v.s_ = std::move(hint);
    return v;
}

Value Value::list(List items) {
    Value v;
    v.kind_ = Kind::List;
    v.list_ = std::make_shared<List>(std::move(items));
    return v;
}

Value Value::tuple(List items) {
    Value v = list(std::move(items));
    v.kind_ = Kind::Tuple;
    return v;
}

Value Value::dict(Dict d) {
    Value v;
    v.kind_ = Kind::Dict;
    v.dict_ = std::make_shared<Dict>(std::move(d));
    return v;
}

Value Value::namespace_(Dict d) {
    Value v = dict(std::move(d));
    v.kind_ = Kind::Namespace;
    return v;
}

Value Value::callable(std::string name, Function f) {
    Value v;
    v.kind_ = Kind::Callable;
    v.s_ = std::move(name);
    v.fn_ = std::make_shared<Function>(std::move(f));
    return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null:
            return Value(nullptr);
        case nlohmann::ordered_json::value_t::boolean:
            return Value(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer:
            return Value(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) fail("chat template", "integer too large: " + j.dump());
            return Value(static_cast<int64_t>(u));
        }
        case nlohmann::ordered_json::value_t::number_float:
            return Value(j.get<double>());
        case nlohmann::ordered_json::value_t::string:
            return Value(j.get<std::string>());
        case nlohmann::ordered_json::value_t::array: {
            List items;
            for (const auto& e : j) items.push_back(from_json(e));
            return list(std::move(items));
        }
        case nlohmann::ordered_json::value_t::object: {
            Dict d;
            for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), from_json(it.value()));
            return dict(std::move(d));
        }
        default:
            fail("chat template", "unsupported JSON value " + j.dump());
    }
}

bool Value::truthy() const {
    switch (kind_) {
        case Kind::Undefined:
        case Kind::None:
            return false;
        case Kind::Bool:
        case Kind::Int:
        case Kind::Float:
        case Kind::String:
            return b_;
        case Kind::List:
        case Kind::Tuple:
            return !list_->empty();
        case Kind::Dict:
            return !dict_->items.empty();
        case Kind::Namespace:
        case Kind::Callable:
            return true;
    }
    return false;
}

const char* Value::type_name() const {
    switch (kind_) {
        case Kind::Undefined:
            return "Undefined";
        case Kind::None:
            return "NoneType";
        case Kind::Bool:
            return "bool";
        case Kind::Int:
            return "int";
        case Kind::Float:
            return "float";
        case Kind::String:
            return "str";
        case Kind::List:
            return "list";
        case Kind::Tuple:
            return "tuple";
        case Kind::Dict:
            return "dict";
        case Kind::Namespace:
            return "Namespace";
        case Kind::Callable:
            return "function";
    }
    return "?";
}

namespace {

// Code points Python's str.isprintable() rejects, as far as chat text meets them:
// C0/C1 controls, the no-break and other Unicode spaces, format characters,
// line/paragraph separators, surrogates and private use.
bool py_printable(uint32_t c) {
    if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) return false;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f)) return false;
    if ((c >= 0x205f && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) || c == 0x3000 || c == 0xfeff) return false;
    if ((c >= 0xfff9 && c <= 0xfffb) || (c >= 0xd800 && c <= 0xf8ff)) return false;
    return true;
}

std::string str_repr(const std::string& s) {
    const bool has_single = s.find('\'') != std::string::npos;
    const bool has_double = s.find('"') != std::string::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    char buf[16];
    for (uint32_t c : decode_utf8(s)) {
        if (c == static_cast<uint32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == ' ' || py_printable(c)) {
            append_utf8(out, c);
        } else {
            if (c < 0x100)
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
            else if (c < 0x10000)
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
            else
                std::snprintf(buf, sizeof buf, "\\U%08x", c);
            out += buf;
        }
    }
    out += quote;
    return out;
}

}  // namespace

std::string float_repr(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0.0) return std::signbit(v) ? "-0.0" : "0.0";
    // The shortest decimal that reads back as v (Python's repr), as d.ddde±x.
    char buf[40];
    for (int prec = 1; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    std::string s(buf);
    const bool neg = s[0] == '-';
    if (neg) s.erase(0, 1);
    const size_t e = s.find('e');
    const int exp10 = std::atoi(s.c_str() + e + 1);
    std::string digits;
    for (size_t i = 0; i < e; ++i)
        if (s[i] != '.') digits += s[i];
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    const int decpt = exp10 + 1;  // digits d1d2… mean 0.d1d2… × 10^decpt
    std::string out;
    if (decpt <= -4 || decpt > 16) {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        std::snprintf(buf, sizeof buf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        out += buf;
    } else if (decpt <= 0) {
        out = "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
        out = digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
    } else {
        out = digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
    }
    return neg ? "-" + out : out;
}

std::string Value::str() const {
    switch (kind_) {
        case Kind::Undefined:
            return "";
        case Kind::None:
            return "None";
        case Kind::Bool:
            return b_ ? "True" : "False";
        case Kind::Int:
            return std::to_string(i_);
        case Kind::Float:
            return float_repr(f_);
        case Kind::String:
            return s_;
        case Kind::Callable:
            throw Error("cannot print the function '" + s_ + "' (call it)");
        default:
            return repr();
    }
}

std::string Value::repr() const {
    switch (kind_) {
        case Kind::String:
            return str_repr(s_);
        case Kind::List:
        case Kind::Tuple: {
            std::string out = kind_ == Kind::List ? "[" : "(";
            for (size_t i = 0; i < list_->size(); ++i) {
                if (i) out += ", ";
                out += (*list_)[i].repr();
            }
            if (kind_ == Kind::Tuple && list_->size() == 1) out += ",";
            return out + (kind_ == Kind::List ? "]" : ")");
        }
        case Kind::Dict: {
            std::string out = "{";
            bool first = true;
            for (const auto& kv : dict_->items) {
                if (!first) out += ", ";
                first = false;
                out += str_repr(kv.first) + ": " + kv.second.repr();
            }
            return out + "}";
        }
        case Kind::Namespace:
            throw Error("cannot print a namespace() object");
        case Kind::Undefined:
            return "";
        default:
            return str();
    }
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind() == Kind::Float || b.kind() == Kind::Float) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.kind() != b.kind()) {
        if (a.is_sequence_like() && b.is_sequence_like()) return false;  // [1] != (1,)
        return false;
    }
    switch (a.kind()) {
        case Kind::Undefined:
        case Kind::None:
            return true;
        case Kind::String:
            return a.as_string() == b.as_string();
        case Kind::List:
        case Kind::Tuple: {
            const List &x = a.items(), &y = b.items();
            if (x.size() != y.size()) return false;
            for (size_t i = 0; i < x.size(); ++i)
                if (!equals(x[i], y[i])) return false;
            return true;
        }
        case Kind::Dict: {
            const Dict &x = a.dict_ref(), &y = b.dict_ref();
            if (x.items.size() != y.items.size()) return false;
            for (const auto& kv : x.items) {
                const Value* o = y.find(kv.first);
                if (!o || !equals(kv.second, *o)) return false;
            }
            return true;
        }
        case Kind::Namespace:
            return &a.dict_ref() == &b.dict_ref();
        default:
            return false;
    }
}

namespace {

void json_string(std::string& out, const std::string& s) {
    out += '"';
    char buf[8];
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

void json_value(std::string& out, const Value& v, int indent, int level, const std::string& item_sep,
                const std::string& key_sep) {
    const auto newline = [&](int lvl) {
        out += '\n';
        out.append(static_cast<size_t>(indent * lvl), ' ');
    };
    switch (v.kind()) {
        case Kind::None:
            out += "null";
            return;
        case Kind::Bool:
            out += v.as_bool() ? "true" : "false";
            return;
        case Kind::Int:
            out += std::to_string(v.as_int());
            return;
        case Kind::Float: {
            const double f = v.as_float();
            if (std::isnan(f))
                out += "NaN";
            else if (std::isinf(f))
                out += f > 0 ? "Infinity" : "-Infinity";
            else
                out += float_repr(f);
            return;
        }
        case Kind::String:
            json_string(out, v.as_string());
            return;
        case Kind::List:
        case Kind::Tuple: {
            const List& items = v.items();
            if (items.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (size_t i = 0; i < items.size(); ++i) {
                if (i) out += item_sep;
                if (indent >= 0) newline(level + 1);
                json_value(out, items[i], indent, level + 1, item_sep, key_sep);
            }
            if (indent >= 0) newline(level);
            out += ']';
            return;
        }
        case Kind::Dict: {
            const Dict& d = v.dict_ref();
            if (d.items.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            bool first = true;
            for (const auto& kv : d.items) {
                if (!first) out += item_sep;
                first = false;
                if (indent >= 0) newline(level + 1);
                json_string(out, kv.first);
                out += key_sep;
                json_value(out, kv.second, indent, level + 1, item_sep, key_sep);
            }
            if (indent >= 0) newline(level);
            out += '}';
            return;
        }
        default:
            throw Error(std::string("tojson: Object of type ") + v.type_name() + " is not JSON serializable");
    }
}

}  // namespace

std::string to_json(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep) {
    std::string out;
    const std::string is = item_sep.empty() ? (indent >= 0 ? "," : ", ") : item_sep;
    const std::string ks = key_sep.empty() ? ": " : key_sep;
    json_value(out, v, indent, 0, is, ks);
    return out;
}

std::vector<uint32_t> decode_utf8(const std::string& s) {
    std::vector<uint32_t> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        int n = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            throw Error("chat template: text is not valid UTF-8");
        }
        if (i + static_cast<size_t>(n) >= s.size() && n > 0)
            throw Error("chat template: text is not valid UTF-8 (cut sequence)");
        for (int k = 1; k <= n; ++k) {
            const unsigned char cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
            if ((cc & 0xc0) != 0x80) throw Error("chat template: text is not valid UTF-8");
            cp = (cp << 6) | (cc & 0x3f);
        }
        out.push_back(cp);
        i += static_cast<size_t>(n) + 1;
    }
    return out;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

std::string encode_utf8(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
    std::string out;
    end = std::min(end, cps.size());
    for (size_t i = begin; i < end; ++i) append_utf8(out, cps[i]);
    return out;
}

bool is_py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

size_t code_point_count(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xc0) != 0x80) ++n;
    return n;
}

}  // namespace droplora::data::jinja
