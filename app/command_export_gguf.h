// droplora export --format gguf | gguf-lora: llama.cpp / Ollama exports (docs/gguf.md).
#pragma once

#include <string>

#include "commands.h"

namespace droplora::app {

bool is_gguf_export(const CommandArgs& argv);  // --format gguf or gguf-lora
std::string gguf_export_help();
int run_gguf_export(const CommandArgs& argv);

}  // namespace droplora::app
