// Activation checkpointing for decoder layers: the forward pass keeps only the
// layer's input; the backward pass runs the layer again with gradients on and
// back-propagates through that. The RNG state of the layer's device is saved
// at the forward and restored for the recomputation, so token masks and input
// dropout are drawn identically both times (step masks are fixed per step).
#pragma once

#include <torch/types.h>

namespace droplora::model {

class DecoderLayerImpl;

// h [B, T, H] → the layer's output, with activation checkpointing.
torch::Tensor checkpointed_layer(DecoderLayerImpl& layer, const torch::Tensor& h, const torch::Tensor& cos,
                                 const torch::Tensor& sin, const torch::Tensor& mask);

// True while a checkpointed layer is being recomputed on this thread (adapters
// then skip their keep-count statistics, which the first pass already counted).
bool recomputing_activations();

}  // namespace droplora::model
