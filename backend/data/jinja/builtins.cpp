#include "data/jinja/builtins.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "common/error.h"

namespace droplora::data::jinja {
namespace {

[[noreturn]] void error(const std::string& what) { throw Error(what); }

// Argument `index` (positional) or `name` (keyword) of a call; `def` when absent.
Value arg(const Args& a, size_t index, const char* name, Value def = Value()) {
    for (const auto& kv : a.keyword)
        if (kv.first == name) return kv.second;
    if (index < a.positional.size()) return a.positional[index];
    return def;
}

void check_args(const Args& a, size_t max_positional, std::initializer_list<const char*> keywords,
                const std::string& what) {
    if (a.positional.size() > max_positional)
        error(what + " takes at most " + std::to_string(max_positional) + " positional argument(s)");
    for (const auto& kv : a.keyword) {
        bool ok = false;
        for (const char* k : keywords) ok = ok || kv.first == k;
        if (!ok) error(what + ": unsupported keyword argument '" + kv.first + "'");
    }
}

std::string object_repr(const Value& obj) {
    if (obj.is_none()) return "None";
    return std::string(obj.type_name()) + " object";
}

Value no_attribute(const Value& obj, const std::string& name) {
    return Value::undefined("'" + object_repr(obj) + "' has no attribute '" + name + "'");
}

bool ascii_only(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Case mapping is ASCII only: other letters would need Unicode's tables, and a
// silently different text is worse than a clear error.
std::string ascii_case(const std::string& s, bool upper, const char* what) {
    std::string out = s;
    for (char& c : out) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x80) error(std::string(what) + " of non-ASCII text is not supported");
        c = static_cast<char>(upper ? std::toupper(u) : std::tolower(u));
    }
    return out;
}

std::string py_title(const std::string& s) {  // str.title()
    if (!ascii_only(s)) error("title of non-ASCII text is not supported");
    std::string out = s;
    bool prev_cased = false;
    for (char& c : out) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (std::isalpha(u)) {
            c = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
            prev_cased = true;
        } else {
            prev_cased = false;
        }
    }
    return out;
}

std::string py_capitalize(const std::string& s) {
    std::string out = ascii_case(s, false, "capitalize");
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
}

// jinja2's title filter: each run after [-\s({[<]+ starts with a capital.
std::string jinja_title(const std::string& s) {
    const std::vector<uint32_t> cps = decode_utf8(s);
    const auto sep = [](uint32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_py_space(c); };
    std::string out;
    size_t i = 0;
    while (i < cps.size()) {
        size_t j = i;
        const bool is_sep = sep(cps[i]);
        while (j < cps.size() && sep(cps[j]) == is_sep) ++j;
        const std::string part = encode_utf8(cps, i, j);
        if (is_sep) {
            out += part;
        } else {
            std::string first = encode_utf8(cps, i, i + 1), rest = encode_utf8(cps, i + 1, j);
            out += ascii_case(first, true, "title") + ascii_case(rest, false, "title");
        }
        i = j;
    }
    return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    if (from.empty()) {
        const std::vector<uint32_t> cps = decode_utf8(s);
        int64_t n = 0;
        for (size_t i = 0; i <= cps.size(); ++i) {
            if (count < 0 || n < count) {
                out += to;
                ++n;
            }
            if (i < cps.size()) append_utf8(out, cps[i]);
        }
        return out;
    }
    size_t pos = 0;
    int64_t n = 0;
    for (;;) {
        const size_t k = s.find(from, pos);
        if (k == std::string::npos || (count >= 0 && n >= count)) break;
        out.append(s, pos, k - pos);
        out += to;
        pos = k + from.size();
        ++n;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

Value py_split(const std::string& s, const Value& sep, int64_t maxsplit) {
    List parts;
    if (sep.is_none() || sep.is_undefined()) {
        const std::vector<uint32_t> cps = decode_utf8(s);
        size_t i = 0;
        int64_t n = 0;
        for (;;) {
            while (i < cps.size() && is_py_space(cps[i])) ++i;
            if (i >= cps.size()) break;
            if (maxsplit >= 0 && n >= maxsplit) {
                size_t end = cps.size();
                while (end > i && is_py_space(cps[end - 1])) --end;
                parts.emplace_back(encode_utf8(cps, i, end));
                break;
            }
            size_t j = i;
            while (j < cps.size() && !is_py_space(cps[j])) ++j;
            parts.emplace_back(encode_utf8(cps, i, j));
            ++n;
            i = j;
        }
        return Value::list(std::move(parts));
    }
    if (!sep.is_string()) error("split: the separator must be a string");
    const std::string& d = sep.as_string();
    if (d.empty()) error("split: empty separator");
    size_t pos = 0;
    int64_t n = 0;
    for (;;) {
        const size_t k = s.find(d, pos);
        if (k == std::string::npos || (maxsplit >= 0 && n >= maxsplit)) break;
        parts.emplace_back(s.substr(pos, k - pos));
        pos = k + d.size();
        ++n;
    }
    parts.emplace_back(s.substr(pos));
    return Value::list(std::move(parts));
}

// str.splitlines() (the boundaries Python knows), without the ends.
std::vector<std::string> py_splitlines(const std::string& s) {
    const std::vector<uint32_t> cps = decode_utf8(s);
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
        const uint32_t c = cps[i];
        const bool boundary = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
                              c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!boundary) continue;
        out.push_back(encode_utf8(cps, start, i));
        if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
        start = i + 1;
    }
    if (start < cps.size()) out.push_back(encode_utf8(cps, start, cps.size()));
    return out;
}

bool starts_or_ends(const std::string& s, const Value& what, bool start, const char* name) {
    const auto one = [&](const Value& p) {
        if (!p.is_string()) error(std::string(name) + ": the argument must be a string or a tuple of strings");
        const std::string& x = p.as_string();
        if (x.size() > s.size()) return false;
        return start ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    if (what.kind() == Kind::Tuple) {
        for (const Value& p : what.items())
            if (one(p)) return true;
        return false;
    }
    return one(what);
}

int64_t to_index(const Value& v, const char* what) {
    if (v.kind() != Kind::Int && v.kind() != Kind::Bool) error(std::string(what) + " must be an integer");
    return v.as_int();
}

Value string_method(const std::string& s, const std::string& name) {
    const auto method = [&](Function f) { return Value::callable("str." + name, std::move(f)); };
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const bool left = name != "rstrip", right = name != "lstrip";
        return method([s, left, right, name](const Args& a) {
            check_args(a, 1, {}, name);
            return Value(str_strip(s, arg(a, 0, "chars", Value(nullptr)), left, right));
        });
    }
    if (name == "split") {
        return method([s](const Args& a) {
            check_args(a, 2, {"sep", "maxsplit"}, "split");
            return py_split(s, arg(a, 0, "sep", Value(nullptr)), to_index(arg(a, 1, "maxsplit", Value(-1)), "maxsplit"));
        });
    }
    if (name == "startswith" || name == "endswith") {
        const bool start = name == "startswith";
        return method([s, start, name](const Args& a) {
            check_args(a, 1, {}, name);
            if (a.positional.empty()) error(name + " takes one argument");
            return Value(starts_or_ends(s, a.positional[0], start, name.c_str()));
        });
    }
    if (name == "upper" || name == "lower") {
        const bool up = name == "upper";
        return method([s, up, name](const Args& a) {
            check_args(a, 0, {}, name);
            return Value(ascii_case(s, up, name.c_str()));
        });
    }
    if (name == "title" || name == "capitalize") {
        const bool title = name == "title";
        return method([s, title, name](const Args& a) {
            check_args(a, 0, {}, name);
            return Value(title ? py_title(s) : py_capitalize(s));
        });
    }
    if (name == "replace") {
        return method([s](const Args& a) {
            check_args(a, 3, {}, "replace");
            if (a.positional.size() < 2 || !a.positional[0].is_string() || !a.positional[1].is_string())
                error("replace takes two strings");
            const int64_t count = a.positional.size() > 2 ? to_index(a.positional[2], "count") : -1;
            return Value(py_replace(s, a.positional[0].as_string(), a.positional[1].as_string(), count));
        });
    }
    if (name == "join") {
        return method([s](const Args& a) {
            check_args(a, 1, {}, "join");
            std::string out;
            bool first = true;
            for (const Value& v : iterate(arg(a, 0, "iterable"))) {
                if (!v.is_string()) error(std::string("join: expected str items, found ") + v.type_name());
                if (!first) out += s;
                first = false;
                out += v.as_string();
            }
            return Value(out);
        });
    }
    if (name == "count" || name == "find") {
        const bool count = name == "count";
        return method([s, count, name](const Args& a) {
            check_args(a, 1, {}, name);
            const Value sub = arg(a, 0, "sub");
            if (!sub.is_string()) error(name + " takes a string");
            const std::string& x = sub.as_string();
            if (!count) {
                const size_t k = s.find(x);
                return Value(k == std::string::npos ? int64_t{-1}
                                                    : static_cast<int64_t>(code_point_count(s.substr(0, k))));
            }
            if (x.empty()) return Value(static_cast<int64_t>(code_point_count(s) + 1));
            int64_t n = 0;
            for (size_t k = s.find(x); k != std::string::npos; k = s.find(x, k + x.size())) ++n;
            return Value(n);
        });
    }
    static const std::set<std::string> unsupported = {
        "format", "format_map", "center", "ljust", "rjust", "zfill", "partition", "rpartition", "rsplit",
        "splitlines", "expandtabs", "encode", "casefold", "swapcase", "isalpha", "isdigit", "isalnum", "isspace",
        "islower", "isupper", "istitle", "isnumeric", "isdecimal", "isidentifier", "isprintable", "index", "rfind",
        "rindex", "removeprefix", "removesuffix", "translate", "maketrans"};
    if (unsupported.count(name)) error("the str method '" + name + "' is not supported");
    return Value::undefined("");
}

Value dict_method(const Value& d, const std::string& name) {
    if (name == "get") {
        return Value::callable("dict.get", [d](const Args& a) {
            check_args(a, 2, {}, "get");
            if (a.positional.empty()) error("get takes a key");
            const Value& k = a.positional[0];
            if (k.is_string())
                if (const Value* v = d.dict_ref().find(k.as_string())) return *v;
            return a.positional.size() > 1 ? a.positional[1] : Value(nullptr);
        });
    }
    if (name == "items" || name == "keys" || name == "values") {
        const int which = name == "items" ? 0 : name == "keys" ? 1 : 2;
        return Value::callable("dict." + name, [d, which, name](const Args& a) {
            check_args(a, 0, {}, name);
            List out;
            for (const auto& kv : d.dict_ref().items) {
                if (which == 0)
                    out.push_back(Value::tuple({Value(kv.first), kv.second}));
                else
                    out.push_back(which == 1 ? Value(kv.first) : kv.second);
            }
            return Value::list(std::move(out));
        });
    }
    static const std::set<std::string> unsafe = {"pop", "popitem", "update", "setdefault", "clear"};
    if (unsafe.count(name)) error("access to attribute '" + name + "' of 'dict' object is unsafe (the template may not change its input)");
    return Value::undefined("");
}

Value list_method(const Value& l, const std::string& name) {
    static const std::set<std::string> unsafe = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"};
    if (l.kind() == Kind::List && unsafe.count(name))
        error("access to attribute '" + name + "' of 'list' object is unsafe (the template may not change its input)");
    if (name == "index" || name == "count") {
        const bool index = name == "index";
        return Value::callable(name, [l, index, name](const Args& a) {
            check_args(a, 1, {}, name);
            const Value x = arg(a, 0, "value");
            int64_t n = 0;
            const List& items = l.items();
            for (size_t i = 0; i < items.size(); ++i) {
                if (!equals(items[i], x)) continue;
                if (index) return Value(static_cast<int64_t>(i));
                ++n;
            }
            if (index) error("index: value is not in the list");
            return Value(n);
        });
    }
    return Value::undefined("");
}

Value attribute_of(const Value& obj, const std::string& name) {
    switch (obj.kind()) {
        case Kind::String:
            return string_method(obj.as_string(), name);
        case Kind::Dict:
            return dict_method(obj, name);
        case Kind::List:
        case Kind::Tuple:
            return list_method(obj, name);
        case Kind::Namespace:
            if (const Value* v = obj.dict_ref().find(name)) return *v;
            return Value::undefined("");
        default:
            return Value::undefined("");
    }
}

// A found attribute is never an Undefined with an empty hint (that marks "none").
bool found(const Value& v) { return !(v.is_undefined() && v.undefined_hint().empty()); }

double number(const Value& v, const char* what) {
    if (!v.is_number()) error(std::string(what) + ": expected a number, found " + v.type_name());
    return v.as_float();
}

Value do_round(const Value& v, const Args& a) {
    check_args(a, 2, {"precision", "method"}, "round");
    const int64_t prec = to_index(arg(a, 0, "precision", Value(0)), "round precision");
    const std::string method = arg(a, 1, "method", Value("common")).str();
    const double x = number(v, "round"), m = std::pow(10.0, static_cast<double>(prec));
    double r;
    if (method == "common" && prec >= 0 && prec <= 30) {
        // Python's round(): correctly rounded, ties to even — as printf rounds.
        char buf[400];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(prec), x);
        r = std::strtod(buf, nullptr);
    } else if (method == "common")
        r = std::round(x * m) / m;
    else if (method == "floor")
        r = std::floor(x * m) / m;
    else if (method == "ceil")
        r = std::ceil(x * m) / m;
    else
        error("round: method must be common, floor or ceil");
    return Value(r);
}

Value do_int(const Value& v, const Args& a) {
    check_args(a, 2, {"default", "base"}, "int");
    const Value def = arg(a, 0, "default", Value(0));
    if (v.kind() == Kind::Int || v.kind() == Kind::Bool) return Value(v.as_int());
    if (v.kind() == Kind::Float) return Value(static_cast<int64_t>(v.as_float()));
    if (v.is_string()) {
        std::string s = str_strip(v.as_string(), Value(nullptr), true, true);
        s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
        char* end = nullptr;
        errno = 0;
        const long long i = std::strtoll(s.c_str(), &end, 10);
        if (!s.empty() && *end == '\0' && errno == 0) return Value(static_cast<int64_t>(i));
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0') return Value(static_cast<int64_t>(d));
    }
    return def;
}

Value do_tojson(const Value& v, const Args& a) {
    check_args(a, 1, {"indent", "ensure_ascii", "separators", "sort_keys"}, "tojson");
    const Value ind = arg(a, 0, "indent", Value(nullptr));
    if (arg(a, 9, "ensure_ascii", Value(false)).truthy()) error("tojson: ensure_ascii=true is not supported");
    if (arg(a, 9, "sort_keys", Value(false)).truthy()) error("tojson: sort_keys=true is not supported");
    int indent = -1;
    if (ind.kind() == Kind::Int) indent = static_cast<int>(std::max<int64_t>(0, ind.as_int()));
    else if (!ind.is_none()) error("tojson: indent must be an integer");
    std::string item_sep, key_sep;
    const Value seps = arg(a, 9, "separators", Value(nullptr));
    if (!seps.is_none()) {
        if (!seps.is_sequence_like() || seps.items().size() != 2 || !seps.items()[0].is_string() ||
            !seps.items()[1].is_string())
            error("tojson: separators must be a pair of strings");
        item_sep = seps.items()[0].as_string();
        key_sep = seps.items()[1].as_string();
        if (item_sep.empty() || key_sep.empty()) error("tojson: empty separators are not supported");
    }
    return Value(to_json(v, indent, item_sep, key_sep));
}

Value do_indent(const Value& v, const Args& a) {
    check_args(a, 3, {"width", "first", "blank"}, "indent");
    const Value width = arg(a, 0, "width", Value(4));
    const std::string ind = width.is_string() ? width.as_string() : std::string(static_cast<size_t>(std::max<int64_t>(0, to_index(width, "indent width"))), ' ');
    const bool first = arg(a, 1, "first", Value(false)).truthy(), blank = arg(a, 2, "blank", Value(false)).truthy();
    std::vector<std::string> lines = py_splitlines(v.str() + "\n");
    std::string rv;
    if (blank) {
        for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
    } else {
        rv = lines.empty() ? "" : lines[0];
        for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind) + lines[i];
    }
    return Value(first ? ind + rv : rv);
}

// select/reject/selectattr/rejectattr: args = [attr?] test-name test-args….
Value select_like(const Value& seq, const Args& a, bool by_attr, bool keep, const char* what) {
    if (!a.keyword.empty()) error(std::string(what) + ": keyword arguments are not supported");
    size_t i = 0;
    std::string attr;
    if (by_attr) {
        if (a.positional.empty() || !a.positional[0].is_string()) error(std::string(what) + " takes an attribute name");
        attr = a.positional[0].as_string();
        i = 1;
    }
    std::string test;
    if (i < a.positional.size()) {
        if (!a.positional[i].is_string()) error(std::string(what) + ": the test name must be a string");
        test = a.positional[i].as_string();
        ++i;
    }
    const std::vector<Value> test_args(a.positional.begin() + static_cast<long>(i), a.positional.end());
    List out;
    for (const Value& item : iterate(seq)) {
        Value x = item;
        if (by_attr) {
            for (size_t s = 0, e; s <= attr.size(); s = e + 1) {  // "a.b" walks down
                e = attr.find('.', s);
                if (e == std::string::npos) e = attr.size();
                x = get_item(x, Value(attr.substr(s, e - s)));
                if (x.is_undefined()) break;
            }
        }
        const bool pass = test.empty() ? x.truthy() : apply_test(test, x, test_args);
        if (pass == keep) out.push_back(item);
    }
    return Value::list(std::move(out));
}

Value do_map(const Value& seq, const Args& a) {
    List out;
    const Value attr = arg(a, 99, "attribute");
    if (!attr.is_undefined()) {
        check_args(a, 0, {"attribute", "default"}, "map");
        const Value def = arg(a, 99, "default");
        for (const Value& item : iterate(seq)) {
            Value x = get_item(item, attr);
            out.push_back(x.is_undefined() && !def.is_undefined() ? def : x);
        }
        return Value::list(std::move(out));
    }
    if (a.positional.empty() || !a.positional[0].is_string()) error("map takes a filter name or attribute=");
    Args rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keyword = a.keyword;
    for (const Value& item : iterate(seq)) out.push_back(apply_filter(a.positional[0].as_string(), item, rest));
    return Value::list(std::move(out));
}

}  // namespace

void undefined_error(const Value& v) {
    error(v.undefined_hint().empty() ? "a value is undefined" : v.undefined_hint());
}

std::string str_strip(const std::string& s, const Value& chars, bool left, bool right) {
    const std::vector<uint32_t> cps = decode_utf8(s);
    std::vector<uint32_t> set;
    const bool ws = chars.is_none() || chars.is_undefined();
    if (!ws) {
        if (!chars.is_string()) error("strip: the characters must be a string");
        set = decode_utf8(chars.as_string());
    }
    const auto strip = [&](uint32_t c) { return ws ? is_py_space(c) : std::find(set.begin(), set.end(), c) != set.end(); };
    size_t b = 0, e = cps.size();
    if (left)
        while (b < e && strip(cps[b])) ++b;
    if (right)
        while (e > b && strip(cps[e - 1])) --e;
    return encode_utf8(cps, b, e);
}

List iterate(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined:
            return {};
        case Kind::List:
        case Kind::Tuple:
            return v.items();
        case Kind::Dict: {
            List keys;
            for (const auto& kv : v.dict_ref().items) keys.emplace_back(kv.first);
            return keys;
        }
        case Kind::String: {
            List chars;
            for (uint32_t c : decode_utf8(v.as_string())) {
                std::string one;
                append_utf8(one, c);
                chars.emplace_back(std::move(one));
            }
            return chars;
        }
        default:
            error(std::string("'") + v.type_name() + "' object is not iterable");
    }
}

int compare_values(const Value& a, const Value& b, const std::string& op) {
    if (a.is_undefined()) undefined_error(a);
    if (b.is_undefined()) undefined_error(b);
    if (a.is_number() && b.is_number()) {
        const double x = a.as_float(), y = b.as_float();
        if (a.kind() != Kind::Float && b.kind() != Kind::Float) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
        return x < y ? -1 : x > y;
    }
    if (a.is_string() && b.is_string()) {
        const int c = a.as_string().compare(b.as_string());  // UTF-8 keeps code point order
        return c < 0 ? -1 : c > 0;
    }
    if (a.kind() == b.kind() && a.is_sequence_like()) {
        const List &x = a.items(), &y = b.items();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i])) continue;
            return compare_values(x[i], y[i], op);
        }
        return x.size() < y.size() ? -1 : x.size() > y.size();
    }
    error("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Kind::Undefined:
            return false;
        case Kind::String:
            if (!item.is_string())
                error(std::string("'in <string>' requires string as left operand, not ") + item.type_name());
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Kind::List:
        case Kind::Tuple:
            for (const Value& v : container.items())
                if (equals(v, item)) return true;
            return false;
        case Kind::Dict:
            return item.is_string() && container.dict_ref().find(item.as_string()) != nullptr;
        default:
            error(std::string("argument of type '") + container.type_name() + "' is not iterable");
    }
}

Value get_attribute(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) undefined_error(obj);
    Value v = attribute_of(obj, name);
    if (found(v)) return v;
    if (obj.kind() == Kind::Dict)
        if (const Value* item = obj.dict_ref().find(name)) return *item;
    return no_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) undefined_error(obj);
    switch (obj.kind()) {
        case Kind::Dict:
            if (key.is_string())
                if (const Value* item = obj.dict_ref().find(key.as_string())) return *item;
            break;
        case Kind::List:
        case Kind::Tuple:
        case Kind::String:
            if (key.kind() == Kind::Int || key.kind() == Kind::Bool) {
                const bool str = obj.is_string();
                const std::vector<uint32_t> cps = str ? decode_utf8(obj.as_string()) : std::vector<uint32_t>{};
                const int64_t n = static_cast<int64_t>(str ? cps.size() : obj.items().size());
                int64_t i = key.as_int();
                if (i < 0) i += n;
                if (i >= 0 && i < n) {
                    if (!str) return obj.items()[static_cast<size_t>(i)];
                    return Value(encode_utf8(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
                }
                return Value::undefined("'" + object_repr(obj) + "' has no element " + key.str());
            }
            break;
        default:
            break;
    }
    if (key.is_string()) {
        Value v = attribute_of(obj, key.as_string());
        if (found(v)) return v;
        return no_attribute(obj, key.as_string());
    }
    return Value::undefined("'" + object_repr(obj) + "' has no element " + key.repr());
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
    if (obj.is_undefined()) undefined_error(obj);
    const bool str = obj.is_string();
    if (!str && !obj.is_sequence_like()) error(std::string("'") + obj.type_name() + "' object is not subscriptable");
    const std::vector<uint32_t> cps = str ? decode_utf8(obj.as_string()) : std::vector<uint32_t>{};
    const int64_t n = static_cast<int64_t>(str ? cps.size() : obj.items().size());
    const auto given = [](const Value& v) { return !v.is_undefined() && !v.is_none(); };
    const int64_t st = given(step) ? to_index(step, "slice step") : 1;
    if (st == 0) error("slice step cannot be zero");
    const auto clamp = [&](const Value& v, int64_t def) {
        if (!given(v)) return def;
        int64_t i = to_index(v, "slice index");
        if (i < 0) i += n;
        if (st > 0) return std::clamp<int64_t>(i, 0, n);
        return std::clamp<int64_t>(i, -1, n - 1);
    };
    const int64_t b = clamp(start, st > 0 ? 0 : n - 1), e = clamp(stop, st > 0 ? n : -1);
    std::vector<size_t> idx;
    for (int64_t i = b; st > 0 ? i < e : i > e; i += st) idx.push_back(static_cast<size_t>(i));
    if (str) {
        std::string out;
        for (size_t i : idx) append_utf8(out, cps[i]);
        return Value(out);
    }
    List out;
    for (size_t i : idx) out.push_back(obj.items()[i]);
    return obj.kind() == Kind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

bool apply_test(const std::string& name, const Value& v, const std::vector<Value>& args) {
    const auto one = [&]() -> const Value& {
        if (args.size() != 1) error("test '" + name + "' takes one argument");
        return args[0];
    };
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_mapping();
    if (name == "iterable")
        return v.is_undefined() || v.is_string() || v.is_sequence_like() || v.is_mapping();
    if (name == "sequence") return v.is_string() || v.is_sequence_like() || v.is_mapping();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.kind() == Kind::Int;
    if (name == "float") return v.kind() == Kind::Float;
    if (name == "boolean") return v.kind() == Kind::Bool;
    if (name == "true") return v.kind() == Kind::Bool && v.as_bool();
    if (name == "false") return v.kind() == Kind::Bool && !v.as_bool();
    if (name == "callable") return v.kind() == Kind::Callable;
    if (name == "odd" || name == "even") {
        if (v.kind() != Kind::Int) error("test '" + name + "' needs an integer");
        return (v.as_int() % 2 != 0) == (name == "odd");
    }
    if (name == "divisibleby") {
        const Value& d = one();
        if (v.kind() != Kind::Int || d.kind() != Kind::Int || d.as_int() == 0)
            error("test 'divisibleby' needs integers and a non-zero divisor");
        return v.as_int() % d.as_int() == 0;
    }
    if (name == "eq" || name == "equalto" || name == "==") return equals(v, one());
    if (name == "ne" || name == "!=") return !equals(v, one());
    if (name == "lt" || name == "lessthan" || name == "<") return compare_values(v, one(), "<") < 0;
    if (name == "le" || name == "<=") return compare_values(v, one(), "<=") <= 0;
    if (name == "gt" || name == "greaterthan" || name == ">") return compare_values(v, one(), ">") > 0;
    if (name == "ge" || name == ">=") return compare_values(v, one(), ">=") >= 0;
    if (name == "in") return contains(one(), v);
    if (name == "lower" || name == "upper") {
        if (!v.is_string()) return false;
        const std::string s = v.as_string();
        if (!ascii_only(s)) error("test '" + name + "' of non-ASCII text is not supported");
        bool cased = false;
        for (char c : s) {
            const unsigned char u = static_cast<unsigned char>(c);
            if (!std::isalpha(u)) continue;
            cased = true;
            if ((name == "lower") != (std::islower(u) != 0)) return false;
        }
        return cased;
    }
    if (name == "sameas") {
        const Value& o = one();
        if (v.kind() != o.kind()) return false;
        if (v.is_none() || v.kind() == Kind::Bool) return equals(v, o);
        if (v.is_mapping() || v.kind() == Kind::Namespace) return &v.dict_ref() == &o.dict_ref();
        if (v.is_sequence_like()) return &v.items() == &o.items();
        error("test 'sameas' is only supported for None, booleans, lists and dicts");
    }
    if (name == "escaped") return false;
    error("unsupported test '" + name + "'");
}

Value apply_filter(const std::string& name, const Value& v, const Args& a) {
    if (name == "trim") {
        check_args(a, 1, {"chars"}, "trim");
        return Value(str_strip(v.str(), arg(a, 0, "chars", Value(nullptr)), true, true));
    }
    if (name == "length" || name == "count") {
        check_args(a, 0, {}, name);
        switch (v.kind()) {
            case Kind::Undefined:
                return Value(int64_t{0});
            case Kind::String:
                return Value(static_cast<int64_t>(code_point_count(v.as_string())));
            case Kind::List:
            case Kind::Tuple:
                return Value(static_cast<int64_t>(v.items().size()));
            case Kind::Dict:
                return Value(static_cast<int64_t>(v.dict_ref().items.size()));
            default:
                error(std::string("object of type '") + v.type_name() + "' has no len()");
        }
    }
    if (name == "upper" || name == "lower") {
        check_args(a, 0, {}, name);
        return Value(ascii_case(v.str(), name == "upper", name.c_str()));
    }
    if (name == "title") {
        check_args(a, 0, {}, name);
        return Value(jinja_title(v.str()));
    }
    if (name == "capitalize") {
        check_args(a, 0, {}, name);
        return Value(py_capitalize(v.str()));
    }
    if (name == "replace") {
        check_args(a, 3, {"count"}, name);
        const Value from = arg(a, 0, "old"), to = arg(a, 1, "new"), count = arg(a, 2, "count", Value(nullptr));
        if (from.is_undefined() || to.is_undefined()) error("replace takes two arguments");
        return Value(py_replace(v.str(), from.str(), to.str(), count.is_none() ? -1 : to_index(count, "count")));
    }
    if (name == "default" || name == "d") {
        check_args(a, 2, {"default_value", "boolean"}, name);
        const Value def = arg(a, 0, "default_value", Value(""));
        const bool boolean = arg(a, 1, "boolean", Value(false)).truthy();
        if (v.is_undefined() || (boolean && !v.truthy())) return def;
        return v;
    }
    if (name == "first" || name == "last") {
        check_args(a, 0, {}, name);
        const List items = iterate(v);
        if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
        return name == "first" ? items.front() : items.back();
    }
    if (name == "join") {
        check_args(a, 2, {"d", "attribute"}, name);
        const std::string d = arg(a, 0, "d", Value("")).str();
        const Value attr = arg(a, 1, "attribute", Value(nullptr));
        std::string out;
        bool first = true;
        for (const Value& item : iterate(v)) {
            if (!first) out += d;
            first = false;
            out += (attr.is_none() ? item : get_item(item, attr)).str();
        }
        return Value(out);
    }
    if (name == "items") {
        check_args(a, 0, {}, name);
        if (v.is_undefined()) return Value::list();
        if (!v.is_mapping()) error("items: can only get item pairs from a mapping");
        return dict_method(v, "items").function()(Args{});
    }
    if (name == "list") {
        check_args(a, 0, {}, name);
        return Value::list(iterate(v));
    }
    if (name == "map") return do_map(v, a);
    if (name == "select") return select_like(v, a, false, true, "select");
    if (name == "reject") return select_like(v, a, false, false, "reject");
    if (name == "selectattr") return select_like(v, a, true, true, "selectattr");
    if (name == "rejectattr") return select_like(v, a, true, false, "rejectattr");
    if (name == "string") {
        check_args(a, 0, {}, name);
        return Value(v.str());
    }
    if (name == "int") return do_int(v, a);
    if (name == "float") {
        check_args(a, 1, {"default"}, name);
        if (v.is_number()) return Value(v.as_float());
        if (v.is_string()) {
            const std::string s = str_strip(v.as_string(), Value(nullptr), true, true);
            char* end = nullptr;
            const double d = std::strtod(s.c_str(), &end);
            if (!s.empty() && *end == '\0') return Value(d);
        }
        return arg(a, 0, "default", Value(0.0));
    }
    if (name == "round") return do_round(v, a);
    if (name == "abs") {
        check_args(a, 0, {}, name);
        if (v.kind() == Kind::Float) return Value(std::fabs(v.as_float()));
        if (v.kind() == Kind::Int || v.kind() == Kind::Bool) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
        error("abs: expected a number");
    }
    if (name == "tojson") return do_tojson(v, a);
    if (name == "indent") return do_indent(v, a);
    if (name == "safe") {
        check_args(a, 0, {}, name);
        return v;
    }
    if (name == "reverse") {
        check_args(a, 0, {}, name);
        if (v.is_string()) return get_slice(v, Value(), Value(), Value(-1));
        List items = iterate(v);
        std::reverse(items.begin(), items.end());
        return Value::list(std::move(items));
    }
    error("unsupported filter '" + name + "'");
}

}  // namespace droplora::data::jinja
