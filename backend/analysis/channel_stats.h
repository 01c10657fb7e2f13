// Per-rank-channel and subspace statistics of the attached adapters — what the
// workbench's heatmap and subspace plots show (docs/architecture.md).
//
// For a module with ΔW = s·B'·A (B' [out, r], A [r, in]):
//   keep_fraction[i]   share of forwards (step mode: steps; token mode: tokens)
//                      that kept channel i since the previous sample
//   energy[i]          s·‖B'[:,i]‖·‖A[i,:]‖
//   grad_norm[i]       √(‖∂L/∂A[i,:]‖² + ‖∂L/∂B[:,i]‖²) of the last backward
//   singular values    B' = Q_b R_b, Aᵀ = Q_a R_a  ⇒  ΔW = Q_b (s·R_b R_aᵀ) Q_aᵀ,
//                      so σ(ΔW) = σ(s·R_b R_aᵀ): two thin QRs and an r×r SVD,
//                      never the out×in matrix
//   effective_rank     exp(H(σ/Σσ)) (Roy & Vetterli)
//   drift              1 − ‖U₀ᵀU₁‖²_F / k over the left singular subspaces
//                      (Q_b·U) of the k non-negligible directions: 0 = same
//                      subspace, 1 = orthogonal (mean sin² of the principal angles)
// All of it is r×r work on the adapter tensors, done every `stats_every` steps.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "model/linear.h"
#include "analysis/stats_sample.h"

namespace droplora::analysis {

class ChannelStatistics {
public:
    // Collects one sample over the model's adapted linears (name → linear).
    StatsSample collect(int64_t step, const std::vector<std::pair<std::string, model::Linear>>& linears);

    // The subspace of one module from ΔW's factors (exposed for tests).
    struct Spectrum {
        torch::Tensor singular_values;  // [r] descending, fp64
        torch::Tensor left_basis;       // [out, r] orthonormal columns, ordered like the singular values
    };
    static Spectrum spectrum(const torch::Tensor& B, const torch::Tensor& A, double scaling);
    static double effective_rank(const torch::Tensor& singular_values);
    // Mean sin² of the principal angles between the spans of two orthonormal bases.
    static double subspace_drift(const torch::Tensor& U0, const torch::Tensor& U1);

private:
    struct History {
        torch::Tensor first;  // left basis of the first non-zero sample
        torch::Tensor prev;
    };
    std::map<std::string, History> history_;
};

}  // namespace droplora::analysis
