// The training recipe: RunConfig in, a run folder out (config.yaml,
// metrics.jsonl, checkpoints/, adapter/), progress through an Observer.
// Torch-free surface so the GUI can call it from its worker thread.
#pragma once

#include <cstdint>
#include <string>

#include "config/run_config.h"
#include "train/observer.h"

namespace droplora::train {

struct RunResult {
    RunOutcome outcome = RunOutcome::Failed;
    std::string message;          // error text for Failed
    std::string run_dir;
    int64_t last_step = 0;
    std::string last_checkpoint;  // empty if none was written
};

// Runs the whole training. Never throws for a run's errors: a failure is
// reported through observer.on_finished(Failed, message) and returned. A stop
// request, an error after the first step, or a NaN loss leaves the last good
// checkpoint on disk. `resume_dir` (a run folder) continues that run.
RunResult run_training(const config::RunConfig& cfg, Observer& observer, RunControl& control,
                       const std::string& resume_dir = "");

}  // namespace droplora::train
