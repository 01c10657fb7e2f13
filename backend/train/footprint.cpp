#include "train/footprint.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "model/lm_loss_size.h"
#include "model/tensor_layout.h"

namespace droplora::train {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// LibTorch's resident memory on the CPU besides the run's tensors: its code,
// oneDNN's and the BLAS's buffers, the thread pools, the allocator's slack.
// Measured: `droplora train` on the 2-million-parameter demo peaks at 237 MiB,
// of which the model, adapters, activations and loss are about 60.
constexpr double kCpuRuntimeMiB = 180.0;

int64_t elements(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

}  // namespace

Footprint estimate_footprint(const model::LlamaConfig& m, const config::RunConfig& run, int64_t seq_len, bool cuda,
                             bool bf16) {
    Footprint f;
    for (const auto& spec : model::global_tensor_specs(m)) f.model_parameters += elements(spec.shape);
    const auto layer = model::layer_tensor_specs(m, 0);
    int64_t per_layer = 0;
    for (const auto& spec : layer) per_layer += elements(spec.shape);
    f.model_parameters += per_layer * m.num_hidden_layers;

    const bool full = run.adapter.method == "full";
    if (full) {
        f.trainable_parameters = f.model_parameters;
    } else {
        const int64_t r = run.adapter.rank;
        for (const std::string& target : run.adapter.targets) {
            const std::string suffix = "." + target + ".weight";
            const auto it = std::find_if(layer.begin(), layer.end(), [&](const model::TensorSpec& s) {
                return s.name.size() > suffix.size() && s.name.compare(s.name.size() - suffix.size(), suffix.size(), suffix) == 0;
            });
            if (it == layer.end()) fail("adapter.targets", "'" + target + "' is not a linear module of this model");
            const int64_t out = it->shape[0], in = it->shape[1];
            int64_t module = r * (in + out);
            if (run.adapter.method == "droplora" && run.adapter.mask == "learned") module += r;  // the mask's logits
            f.trainable_parameters += module * m.num_hidden_layers;
        }
    }
    f.trainable_percent = f.model_parameters > 0 ? 100.0 * double(f.trainable_parameters) / double(f.model_parameters) : 0;

    const double weight_bytes = bf16 && !full ? 2.0 : 4.0;
    f.weights_mib = double(f.model_parameters) * weight_bytes / kMiB;
    // fp32 trainable tensor, its gradient, AdamW's exp_avg and exp_avg_sq. Full
    // fine-tuning's weights are the trainable tensors: counted once, above.
    f.training_mib = double(f.trainable_parameters) * (full ? 12.0 : 16.0) / kMiB;

    const int64_t B = run.train.batch_size, T = std::max<int64_t>(1, seq_len);
    const double tokens = double(B) * double(T);
    f.tokens_per_micro_batch = B * T;
    const double act_bytes = bf16 ? 2.0 : 4.0;
    const double h = double(m.hidden_size), i = double(m.intermediate_size), L = double(m.num_hidden_layers);
    const double layer_tokens = (17.5 * h + 5.5 * i) * act_bytes * tokens;
    const double layer_attention = 4.0 * double(B) * double(m.num_attention_heads) * double(T) * double(T) * 4.0;
    const double one_layer = layer_tokens + layer_attention;
    const double kept_all = L * one_layer;
    const double kept_checkpointed = L * h * act_bytes * tokens + one_layer;
    // Either way the backward pass holds one layer's gradients beside what is kept.
    const double with = (kept_checkpointed + one_layer) / kMiB, without = (kept_all + one_layer) / kMiB;
    const bool checkpointing = run.train.gradient_checkpointing;
    f.activations_mib = checkpointing ? with : without;
    f.activations_flipped_mib = checkpointing ? without : with;
    // model/lm_loss.h: the counted rows (at most every token) in chunks of fp32 logits, each chunk
    // and its softmax − onehot alive at once, plus the selected rows and their gradient.
    const double V = double(m.vocab_size);
    const double chunk_rows = std::max(1.0, std::floor(double(model::kLossChunkElements) / V));
    f.logits_mib = (2.0 * std::min(tokens, chunk_rows) * V * 4.0 + 2.0 * tokens * h * act_bytes) / kMiB;
    f.runtime_mib = cuda ? 0.0 : kCpuRuntimeMiB;
    const double rest = f.weights_mib + f.training_mib + f.logits_mib + f.runtime_mib;
    f.peak_mib = rest + f.activations_mib;
    f.peak_flipped_mib = rest + f.activations_flipped_mib;
    return f;
}

}  // namespace droplora::train
