// The tokenizer of a model folder described to llama.cpp as GGUF metadata
// (docs/gguf.md, "Vocabulary"). One writer per kind of vocabulary:
//   tokenizer.model (sentencepiece)  → tokenizer.ggml.model "llama"
//   tokenizer.json (BPE)             → "gpt2" with tokenizer.ggml.pre (not yet: an Error)
// A vocabulary we cannot describe exactly is an Error before anything is written.
#pragma once

#include <string>
#include <vector>

#include "io/gguf.h"
#include "model/llama_config.h"

namespace droplora::exports {

struct GgufVocab {
    io::GgufMetadata kv;                  // tokenizer.* keys
    std::vector<std::string> stop_tokens;  // end-of-turn pieces (Ollama's PARAMETER stop)
};

GgufVocab describe_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg);

// The sentencepiece writer on its own (used by describe_vocabulary).
GgufVocab describe_spm_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg);

}  // namespace droplora::exports
