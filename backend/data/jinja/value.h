// Values of the Jinja2 interpreter (docs/chat-templates.md). They behave as the
// Python objects Jinja2 renders chat templates with: str (UTF-8 here, indexed and
// measured in code points as Python does), int, float, bool, None, list, tuple,
// dict (insertion-ordered, string keys), jinja2's default Undefined, a namespace()
// and callables (builtins, bound methods, macros).
//
// Lists, dicts and namespaces are shared by reference, as in Python, so a
// namespace changed inside a loop is seen after it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace droplora::data::jinja {

class Value;

using List = std::vector<Value>;

struct Dict {
    std::vector<std::pair<std::string, Value>> items;

    const Value* find(const std::string& key) const;
    Value* find(const std::string& key);
    void set(const std::string& key, Value v);
};

// Positional and keyword arguments of a call.
struct Args {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
};

using Function = std::function<Value(const Args&)>;

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable };

class Value {
public:
    Value();  // Undefined without a hint
    Value(std::nullptr_t);
    Value(bool b);
    Value(int v) : Value(static_cast<int64_t>(v)) {}
    Value(int64_t v);
    Value(double v);
    Value(std::string s);
    Value(const char* s) : Value(std::string(s)) {}

    static Value undefined(std::string hint);  // hint: jinja2's message, "'x' is undefined"
    static Value list(List items = {});
    static Value tuple(List items);
    static Value dict(Dict d = {});
    static Value namespace_(Dict d = {});
    static Value callable(std::string name, Function f);
    static Value from_json(const nlohmann::ordered_json& j);  // object keys keep their order

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::Undefined; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
    bool is_sequence_like() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
    bool is_mapping() const { return kind_ == Kind::Dict; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return kind_ == Kind::Float ? static_cast<int64_t>(f_) : i_; }
    double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(i_); }
    const std::string& as_string() const { return s_; }
    const std::string& undefined_hint() const { return s_; }
    const std::string& callable_name() const { return s_; }
    List& items() const { return *list_; }  // List or Tuple
    Dict& dict_ref() const { return *dict_; }  // Dict or Namespace
    const Function& function() const { return *fn_; }

    bool truthy() const;       // Python bool()
    std::string str() const;   // Python str(); throws on a callable
    std::string repr() const;  // Python repr()
    const char* type_name() const;  // Python's type name, for messages ("dict", "str")

private:
    Kind kind_ = Kind::Undefined;
    bool b_ = false;
    int64_t i_ = 0;
    double f_ = 0.0;
    std::string s_;
    std::shared_ptr<List> list_;
    std::shared_ptr<Dict> dict_;
    std::shared_ptr<Function> fn_;
};

// Python ==.
bool equals(const Value& a, const Value& b);

// Python's repr of a float ("1.0", "1e+20", "0.1").
std::string float_repr(double v);

// json.dumps(v, ensure_ascii=False, indent=indent, separators=…, sort_keys=False)
// as transformers' tojson filter calls it. indent < 0: none (one line).
std::string to_json(const Value& v, int indent = -1, const std::string& item_sep = "",
                    const std::string& key_sep = "");

// UTF-8 helpers: Python str semantics on code points.
std::vector<uint32_t> decode_utf8(const std::string& s);
std::string encode_utf8(const std::vector<uint32_t>& cps, size_t begin = 0, size_t end = SIZE_MAX);
void append_utf8(std::string& out, uint32_t cp);
bool is_py_space(uint32_t cp);  // str.isspace()
size_t code_point_count(const std::string& s);

}  // namespace droplora::data::jinja
