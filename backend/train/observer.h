// How a running training reports, and how it is steered. Torch-free and
// Qt-free: the CLI prints these, the GUI turns them into queued signals.
// Callbacks run on the training thread; an observer must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace droplora::train {

struct StepMetrics {
    int64_t step = 0;        // optimizer steps done (1-based after the first)
    int64_t max_steps = 0;
    double epoch = 0;        // fractional epochs seen
    double loss = 0;         // mean over the step's counted tokens
    double lr = 0;
    double grad_norm = 0;    // before clipping
    double tokens_per_sec = 0;
    int64_t tokens = 0;      // counted (label) tokens this step
    double elapsed_s = 0;
    double eta_s = 0;
    double device_memory_mb = 0;  // peak on CUDA, resident set on CPU
};

struct EvalMetrics {
    int64_t step = 0;
    double loss = 0;
    double perplexity = 0;
    int64_t tokens = 0;
};

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

enum class RunOutcome { Finished, Cancelled, Failed };

class Observer {
public:
    virtual ~Observer() = default;
    virtual void on_log(const std::string& /*line*/) {}
    virtual void on_started(int64_t /*max_steps*/, int64_t /*start_step*/) {}
    virtual void on_step(const StepMetrics&) {}
    virtual void on_eval(const EvalMetrics&) {}
    virtual void on_stats(const StatsSample&) {}
    virtual void on_checkpoint(const std::string& /*dir*/, int64_t /*step*/) {}
    // Called once, last. `message` is the error for Failed.
    virtual void on_finished(RunOutcome, const std::string& /*message*/) {}
};

// Flags the trainer polls between steps. Any thread may set them.
struct RunControl {
    std::atomic<bool> stop{false};
    std::atomic<bool> pause{false};
};

}  // namespace droplora::train
