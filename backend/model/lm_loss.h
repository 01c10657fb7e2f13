// The training loss from the final hidden states, without the [B, T, V] logits.
//
//   loss = Σ_{t counted} −log softmax(W · h_t)[y_{t+1}]      (labels shifted inside, −100 = ignore)
//
// Only positions whose next-token label counts go through the output projection
// W [V, H] (for instruction data the prompt — most tokens — never does), in
// chunks of rows whose fp32 logits stay within kLossChunkElements. Each chunk's
// gradient with respect to its hidden rows (and to W when W is trained, as in
// full fine-tuning) is computed in the same pass — d loss / d logits =
// softmax − onehot — so no logits are kept for the backward pass: peak memory
// is one chunk of logits instead of all of them twice or more. Logits, softmax
// and the sum are fp32 whatever the hidden states' dtype (bf16 on a GPU or a
// bf16-capable CPU); the products with W run in W's dtype.
// Equal to causal_lm_loss_sum(model.forward(...), labels) and its gradients to
// rounding (tests/test_model.cpp).
#pragma once

#include <torch/types.h>

#include "model/lm_loss_size.h"

namespace droplora::model {

// hidden [B, T, H] (LlamaModelImpl::hidden_states), weight [V, H]
// (lm_head_weight()), labels [B, T] int64. Returns a 0-dim fp32 tensor.
// `chunk_rows` > 0 overrides the chunking (tests).
torch::Tensor causal_lm_loss_sum_from_hidden(const torch::Tensor& hidden, const torch::Tensor& weight,
                                             const torch::Tensor& labels, int64_t chunk_rows = 0);

}  // namespace droplora::model
