// Shared helpers of the engine tests that use LibTorch: tensor comparisons
// with a stated tolerance (and, from test_support.h, the torch-free ones).
#pragma once

#include <QtTest/QtTest>
#include <torch/torch.h>

#include <string>

#include "test_support.h"

namespace droplora::testing {

// max |a − b| / max(|b|, 1): relative where the reference is large, absolute
// below 1 (logits near zero make a pure relative error meaningless).
inline double max_rel_error(const torch::Tensor& a, const torch::Tensor& b) {
    auto a64 = a.to(torch::kFloat64).cpu();
    auto b64 = b.to(torch::kFloat64).cpu();
    return ((a64 - b64).abs() / b64.abs().clamp_min(1.0)).max().item<double>();
}

inline double rel_diff(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

}  // namespace droplora::testing
