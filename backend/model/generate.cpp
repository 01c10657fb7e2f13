#include "model/generate.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"

namespace droplora::model {

namespace {

// Samples one id from logits [V] (fp32) under temperature / top-p.
int64_t sample(const torch::Tensor& logits, const GenerateOptions& o, at::Generator& gen) {
    if (o.temperature <= 0.0) return logits.argmax().item<int64_t>();
    auto probs = torch::softmax(logits / o.temperature, -1);
    if (o.top_p < 1.0) {
        auto [sorted, idx] = probs.sort(-1, /*descending=*/true);
        auto cum = sorted.cumsum(-1);
        // keep a token while the mass before it is below top_p (the first always stays)
        auto keep = (cum - sorted) < o.top_p;
        sorted = sorted * keep.to(sorted.scalar_type());
        probs = torch::zeros_like(probs).scatter_(0, idx, sorted);
    }
    return torch::multinomial(probs, 1, false, gen).item<int64_t>();
}

}  // namespace

std::vector<int64_t> generate(LlamaModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o) {
    if (prompt.empty()) fail("generate", "the prompt has no tokens");
    const int64_t ctx = model.config().max_position_embeddings;
    if (static_cast<int64_t>(prompt.size()) >= ctx)
        fail("generate", "the prompt (" + std::to_string(prompt.size()) + " tokens) fills the model's context of " +
                             std::to_string(ctx));
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    const auto device = model.embed_tokens.device();
    KVCache cache;
    std::vector<int64_t> out;
    auto input = torch::tensor(prompt, torch::kInt64).unsqueeze(0).to(device);  // [1, T]
    for (int64_t i = 0; i < o.max_new_tokens && cache.length() + input.size(1) <= ctx; ++i) {
        auto logits = model.forward(input, {}, &cache);  // [1, t, V]
        const int64_t next = sample(logits[0][-1].to(torch::kCPU, torch::kFloat32), o, gen);
        if (next == o.eos_id || std::find(o.stop_ids.begin(), o.stop_ids.end(), next) != o.stop_ids.end()) break;
        out.push_back(next);
        if (o.on_token && !o.on_token(next)) break;
        input = torch::tensor({next}, torch::kInt64).unsqueeze(0).to(device);
    }
    if (was_training) model.train();
    return out;
}

}  // namespace droplora::model
