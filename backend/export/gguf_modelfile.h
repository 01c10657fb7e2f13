// Ollama Modelfiles beside a GGUF export (docs/gguf.md, "Ollama").
#pragma once

#include <string>
#include <vector>

namespace droplora::exports {

// FROM ./model.gguf and a PARAMETER stop per end-of-turn token.
std::string model_modelfile(const std::vector<std::string>& stop_tokens);
// FROM <the base, a placeholder to edit> + ADAPTER ./adapter.gguf and the stops.
std::string adapter_modelfile(const std::string& base_model, const std::vector<std::string>& stop_tokens);

}  // namespace droplora::exports
