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
    // The tokenizer as its files say (read cheaply: names and tokenizer_config.json,
    // never the vocabulary): "tokenizer.json", "tokenizer.model", both ("tokenizer.json
    // + tokenizer.model": tokenizer.json is used) or "" when the folder has none.
    std::string tokenizer_files;
    bool has_tokenizer = false;
    std::string bos_token, eos_token, pad_token;  // tokenizer_config.json's, "" when unset
    // Where the model's own chat template comes from: "chat_template.jinja",
    // "tokenizer_config.json", or "" for none.
    std::string chat_template;
};

ModelInfo inspect_model(const std::string& dir);  // throws Error naming the file
std::string describe(const ModelInfo& info);      // multi-line human text

}  // namespace droplora::model
