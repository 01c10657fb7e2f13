// The tokenizer of a model folder described to llama.cpp as GGUF metadata
// (docs/gguf.md, "Vocabulary"). One writer per kind of vocabulary:
//   tokenizer.model (sentencepiece)  → tokenizer.ggml.model "llama"
//   tokenizer.json (byte-level BPE)  → "gpt2" with tokenizer.ggml.pre naming llama.cpp's
//                                      pre-tokenizer ("llama-bpe", "qwen2", "smollm", "gpt-2")
// A vocabulary we cannot describe exactly is an Error before anything is written.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/gguf.h"
#include "model/llama_config.h"

namespace droplora::exports {

struct GgufVocab {
    io::GgufMetadata kv;                  // tokenizer.* keys
    std::vector<std::string> stop_tokens;  // end-of-turn pieces (Ollama's PARAMETER stop)
};

GgufVocab describe_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg);

// The writers on their own (describe_vocabulary picks one).
GgufVocab describe_spm_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg);
GgufVocab describe_bpe_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg);

// llama.cpp's name for the pre-tokenizer of a tokenizer.json ("llama-bpe", "qwen2",
// "smollm", "gpt-2"), or an Error naming `file` and the pre-tokenizer we cannot name.
std::string llama_cpp_pre_tokenizer(const nlohmann::json& tokenizer_json, const std::string& file);

}  // namespace droplora::exports
