// One sample of the per-rank-channel statistics (what the workbench's heatmap
// and subspace plots draw, and metrics.jsonl keeps). Torch-free and Qt-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace droplora::analysis {

// Statistics of one adapted module (per rank channel i = 0..r-1).
struct ModuleStats {
    std::string module;                  // "model.layers.3.self_attn.q_proj"
    std::vector<double> keep_fraction;   // fraction of steps/tokens channel i was kept since last sample
    std::vector<double> energy;          // s·‖B[:,i]‖·‖A[i,:]‖
    std::vector<double> grad_norm;       // ‖∂L/∂A[i,:]‖² + ‖∂L/∂B[:,i]‖², square-rooted, last step
    std::vector<double> singular_values; // of ΔW = s·B·A, descending
    double effective_rank = 0;           // exp(entropy of normalised singular values)
    double drift_prev = 0;               // subspace distance to previous sample, in [0,1]
    double drift_first = 0;              // ... to the first sample
};

struct StatsSample {
    int64_t step = 0;
    std::vector<ModuleStats> modules;
};

}  // namespace droplora::analysis
