// Jinja2's grammar (the subset chat templates use; docs/chat-templates.md):
// if/elif/else, for (… if cond, else, recursive refused), set (also ns.attr and
// block set), macro, break/continue (loopcontrols), transformers' generation
// block; expressions with Jinja2's precedence. Any other tag is an error naming
// the template line.
#pragma once

#include <string>

#include "data/jinja/ast.h"

namespace droplora::data::jinja {

// Throws Error("<name>:<line>: …").
Template parse(const std::string& source, const std::string& name);

}  // namespace droplora::data::jinja
