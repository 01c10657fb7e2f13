#include "model/scoring.h"

#include <algorithm>

#include <torch/torch.h>

namespace droplora::model {

TextScore score_ids(LlamaModelImpl& model, const std::vector<int64_t>& ids, int64_t window) {
    TextScore score;
    if (window <= 0) window = model.config().max_position_embeddings;
    const int64_t n = static_cast<int64_t>(ids.size());
    torch::NoGradGuard no_grad;
    const auto device = model.embed_tokens.device();
    for (int64_t start = 0; start + 1 < n; start += window) {
        const int64_t len = std::min(window + 1, n - start);  // inputs len−1, targets len−1
        auto chunk = torch::tensor(std::vector<int64_t>(ids.begin() + start, ids.begin() + start + len), torch::kInt64);
        auto input = chunk.narrow(0, 0, len - 1).unsqueeze(0).to(device);  // [1, len−1]
        auto target = chunk.narrow(0, 1, len - 1).to(device);              // [len−1]
        auto logits = model.forward(input);                                 // [1, len−1, V]
        auto ce = torch::nn::functional::cross_entropy(
            logits[0], target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
        score.loss_sum += ce.item<double>();
        score.tokens += len - 1;
    }
    return score;
}

}  // namespace droplora::model
