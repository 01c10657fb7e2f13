// Autoregressive sampling with a KV cache: the prompt is run once, then one
// token per step. temperature 0 is greedy; otherwise softmax(logits / T)
// restricted to the smallest set of tokens whose probability reaches top_p.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "model/llama.h"

namespace droplora::model {

struct GenerateOptions {
    int64_t max_new_tokens = 128;
    double temperature = 0.0;
    double top_p = 1.0;
    uint64_t seed = 0;
    int64_t eos_id = 2;  // stops when produced (not included in the output)
    // Further end-of-turn ids that stop generation (Llama 3.1 lists three in
    // generation_config.json); data::Tokenizer::stop_ids() gives them all.
    std::vector<int64_t> stop_ids;
    // Called with each new token; return false to stop early.
    std::function<bool(int64_t)> on_token;
};

// Returns the generated ids (without the prompt). The context is capped at
// max_position_embeddings.
std::vector<int64_t> generate(LlamaModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& options);

}  // namespace droplora::model
