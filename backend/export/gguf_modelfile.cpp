#include "export/gguf_modelfile.h"

namespace droplora::exports {

namespace {

// A Modelfile string value: double-quoted, with \ and " escaped.
std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string stops(const std::vector<std::string>& tokens) {
    std::string out;
    for (const auto& t : tokens) out += "PARAMETER stop " + quote(t) + "\n";
    return out;
}

}  // namespace

std::string model_modelfile(const std::vector<std::string>& stop_tokens) {
    return "# Ollama: ollama create NAME -f Modelfile  (written by droplora export; see docs/gguf.md)\n"
           "FROM ./model.gguf\n" +
           stops(stop_tokens);
}

std::string adapter_modelfile(const std::string& base_model, const std::vector<std::string>& stop_tokens) {
    return "# Ollama: ollama create NAME -f Modelfile  (written by droplora export; see docs/gguf.md)\n"
           "# FROM must be the base model this adapter was trained on (" + base_model + "):\n"
           "# its GGUF (droplora export --model BASE_DIR --format gguf --out DIR writes DIR/model.gguf)\n"
           "# or an Ollama model made from the same weights. Edit the line below.\n"
           "FROM ./base.gguf\n"
           "ADAPTER ./adapter.gguf\n" +
           stops(stop_tokens);
}

}  // namespace droplora::exports
