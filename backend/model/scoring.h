// Scoring token sequences longer than the context: consecutive windows of
// C + 1 tokens overlapping by one (window k = ids[k·C, k·C + C]), so every token
// after the first is predicted exactly once and the context restarts at each
// window. Loss = Σ cross-entropy / predicted tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "model/llama.h"

namespace droplora::model {

struct TextScore {
    double loss_sum = 0;
    int64_t tokens = 0;  // predicted tokens
    double loss() const { return tokens ? loss_sum / static_cast<double>(tokens) : 0.0; }
};

// `window` = C (defaults to the model's max_position_embeddings when ≤ 0).
TextScore score_ids(LlamaModelImpl& model, const std::vector<int64_t>& ids, int64_t window = 0);

}  // namespace droplora::model
