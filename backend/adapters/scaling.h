// The LoRA scale s in ΔW = s·B·A, written once (PEFT's `scaling`):
//   s = alpha / r,   or alpha / √r with rsLoRA.
// Torch-free, so the workbench shows the same number the engine uses.
#pragma once

#include <cmath>
#include <cstdint>

namespace droplora::adapters {

inline double lora_scaling(double alpha, int64_t rank, bool rslora) {
    const double r = static_cast<double>(rank);
    return rslora ? alpha / std::sqrt(r) : alpha / r;
}

// The plain-LoRA alpha with the same scale: what a reader that ignores
// use_rslora (llama.cpp, Ollama) must be given.
inline double plain_alpha(double alpha, int64_t rank, bool rslora) {
    return lora_scaling(alpha, rank, rslora) * static_cast<double>(rank);
}

}  // namespace droplora::adapters
