// How a running training reports, and how it is steered. Torch-free and
// Qt-free: the CLI prints these, the GUI turns them into queued signals.
// Callbacks run on the training thread; an observer must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/stats_sample.h"

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

// What the rank-channel statistics report (defined with them, in analysis/).
using analysis::ModuleStats;
using analysis::StatsSample;

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
    // The adapter as it is now, written on request (RunControl::snapshot) into a
    // PEFT folder; `dir` is empty when it could not be written (the log says why).
    virtual void on_snapshot(const std::string& /*dir*/, int64_t /*step*/) {}
    // Called once, last. `message` is the error for Failed.
    virtual void on_finished(RunOutcome, const std::string& /*message*/) {}
};

// Flags the trainer polls between steps. Any thread may set them.
struct RunControl {
    std::atomic<bool> stop{false};
    std::atomic<bool> pause{false};
    // Asks for a snapshot of the adapter between two steps (or while paused),
    // e.g. for a live preview: written into snapshot_dir/step-N (the previous
    // snapshot there is removed), then Observer::on_snapshot. snapshot_dir is set
    // before the run starts and not changed during it; empty: no snapshots.
    std::atomic<bool> snapshot{false};
    std::string snapshot_dir;
};

}  // namespace droplora::train
