// What a run will cost before it starts: its trainable parameters and an
// estimate of its peak memory, from the model's shape (config.json) and the
// run's settings alone — nothing is loaded. The workbench shows it under the
// Training form, `droplora bench` prints it beside the memory it measured.
// Torch-free.
//
// The model (train/trainer.cpp, model/llama.cpp) keeps, per layer and token,
// the tensors its backward pass reads; counted in elements of the activation
// dtype (fp32 on the CPU, bf16 where the run computes in bf16):
//   17.5·h + 5.5·i   (h = hidden_size, i = intermediate_size)
// — the two RMSNorms' inputs, fp32 statistics and outputs, q, k, v before and
// after RoPE, the attention output, o_proj's output, the residuals; gate, up,
// SiLU(gate) and their product; the adapters' inputs and rank-sized products —
// plus the eager attention's 4 · heads · T² fp32 values per sequence (scaled
// scores, masked scores, softmax, its cast), and the loss (model/lm_loss.h):
// one chunk of fp32 logits and its gradient (2 · 4 bytes · vocab per row, at
// most kLossChunkElements per chunk) plus the counted rows of h and their
// gradient — every token is assumed to count (an upper bound for instruction
// data, whose prompts do not). Gradient checkpointing keeps only each layer's
// input (h per token) and recomputes one layer at a time; the backward pass
// holds one layer's gradients besides. The coefficients were counted from the
// code, then corrected against measured peaks (ru_maxrss) of `droplora train`
// on the demo and `droplora bench --preset small` in fp32 and bf16 (within 8 %
// of each after the correction); tests/ui/test_usability.cpp keeps them within
// 25 %.
#pragma once

#include <cstdint>

#include "config/run_config.h"
#include "model/llama_config.h"

namespace droplora::train {

struct Footprint {
    int64_t model_parameters = 0;      // every weight of the base model
    int64_t trainable_parameters = 0;  // what the optimizer updates
    double trainable_percent = 0;      // of model_parameters

    // MiB. peak_mib sums them, with the run's gradient_checkpointing setting;
    // the other figure is the same run with the setting flipped.
    double weights_mib = 0;      // frozen base weights (all weights with method: full)
    double training_mib = 0;     // trainable tensors, their gradients and AdamW's two moments (fp32)
    double activations_mib = 0;  // what the backward pass keeps, at the run's setting
    double logits_mib = 0;       // the loss over the vocabulary
    double runtime_mib = 0;      // LibTorch's own memory on the CPU (0 on CUDA: allocations only)
    double peak_mib = 0;
    double activations_flipped_mib = 0;  // activations with gradient checkpointing the other way
    double peak_flipped_mib = 0;
    int64_t tokens_per_micro_batch = 0;  // batch_size × seq_len
};

// `seq_len`: the length of the longest micro-batch (batches are padded to their
// longest example): min(data.max_seq_len, the longest example), or
// data.max_seq_len when the data is not known. `cuda`: the run is on a GPU;
// `bf16`: the frozen weights and activations are bf16 (precision bf16, or auto
// on a GPU). Throws Error for an unknown target module.
Footprint estimate_footprint(const model::LlamaConfig& model, const config::RunConfig& run, int64_t seq_len, bool cuda,
                             bool bf16);

}  // namespace droplora::train
