// What `droplora inspect` and the workbench's model panel show about a model
// folder, read from config.json and the safetensors headers alone (no weights
// are loaded, so it is instant even for a 70B checkpoint). Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace droplora::model {

struct ModelInfo {
    std::string dir;
    std::string architecture;   // "LlamaForCausalLM"
    int64_t parameters = 0;     // counted from the tensor shapes
    std::map<std::string, int64_t> dtype_parameters;  // "BF16" -> count
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t layers = 0;
    int64_t heads = 0;
    int64_t kv_heads = 0;
    int64_t head_dim = 0;
    int64_t context_length = 0;
    std::string rope;           // "default θ=10000", "llama3 ×8", ...
    std::string attention_notes;  // "q/k/v bias", "q/k norm", "sliding window 4096" (comma-separated) or ""
    bool tied_embeddings = false;
    bool has_tokenizer = false;
};

ModelInfo inspect_model(const std::string& dir);  // throws Error naming the file
std::string describe(const ModelInfo& info);      // multi-line human text

}  // namespace droplora::model
