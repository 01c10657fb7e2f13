// Runs a parsed template as Jinja2 renders it (docs/chat-templates.md):
// Jinja2's scoping (a for loop's body is a new scope each iteration, if is
// not), the loop object, namespace(), macros, break/continue, and the globals
// transformers adds: raise_exception(msg) and strftime_now(fmt).
#pragma once

#include <ctime>
#include <string>

#include "data/jinja/ast.h"
#include "data/jinja/value.h"

namespace droplora::data::jinja {

// `variables` are the template's inputs (messages, bos_token, …). `now` is what
// strftime_now formats (local time). Every error is Error("<name>:<line>: …");
// raise_exception's message is the text after the location.
std::string render(const Template& t, const Dict& variables, const std::tm& now);

}  // namespace droplora::data::jinja
