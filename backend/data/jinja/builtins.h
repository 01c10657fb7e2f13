// Jinja2's attribute/item lookup, filters, tests and the Python str/dict
// methods chat templates call (docs/chat-templates.md lists them). Each throws
// a plain droplora::Error without a location; the interpreter adds the
// template line. A filter, test or method outside the list is such an error.
#pragma once

#include <string>
#include <vector>

#include "data/jinja/value.h"

namespace droplora::data::jinja {

// jinja2's environment.getattr (obj.name): Python attribute first, then item.
Value get_attribute(const Value& obj, const std::string& name);
// jinja2's environment.getitem (obj[key]): item first, then attribute.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] with Python's rules (null-kind Undefined = omitted).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

Value apply_filter(const std::string& name, const Value& v, const Args& args);
bool apply_test(const std::string& name, const Value& v, const std::vector<Value>& args);

// Python helpers shared with the interpreter.
List iterate(const Value& v);  // list(v) for a for loop: items, a dict's keys, a string's characters
std::string str_strip(const std::string& s, const Value& chars, bool left, bool right);
int compare_values(const Value& a, const Value& b, const std::string& op);  // <0, 0, >0 for < > <= >=
bool contains(const Value& container, const Value& item);  // Python `item in container`

// The undefined error jinja2 raises when an Undefined is used (attribute,
// arithmetic, call).
[[noreturn]] void undefined_error(const Value& v);

}  // namespace droplora::data::jinja
