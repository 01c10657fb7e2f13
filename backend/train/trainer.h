// The training recipe: RunConfig in, a run folder out (config.yaml,
// metrics.jsonl, checkpoints/, adapter/), progress through an Observer.
// Torch-free surface so the GUI can call it from its worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "train/observer.h"
#include "train/world.h"

namespace droplora::train {

struct RunResult {
    RunOutcome outcome = RunOutcome::Failed;
    std::string message;          // error text for Failed
    std::string run_dir;
    int64_t last_step = 0;
    std::string last_checkpoint;  // empty if none was written
};

// Runs the whole training. Never throws for a run's errors: a failure is
// reported through observer.on_finished(Failed, message) and returned.
// - The run folder is locked for the run (train/run_folder.h); a second
//   process training or exporting it gets an error naming this one.
// - A stop request or an error after the first step writes a checkpoint of the
//   last whole step; a NaN/Inf loss or gradient (or a divergence stop) writes
//   none, so the last good checkpoint stays the newest.
// - A run that fails before its first step leaves no run folder behind.
// `resume_dir` (a run folder) continues that run from its newest checkpoint
// that loads; `resume_overrides` ("train.lr=1e-5", ...) may change only the
// learning-rate keys, and are recorded in metrics.jsonl.
RunResult run_training(const config::RunConfig& cfg, Observer& observer, RunControl& control,
                       const std::string& resume_dir = "", const std::vector<std::string>& resume_overrides = {});

// The same as one rank of a data-parallel run given by `world` rather than by
// torchrun's environment: the workbench trains rank 0 on its worker thread and
// starts the other ranks as `droplora train` processes (ui/trainingcontroller.cpp).
// A stop request while rank 0 waits for the others to join ends the rendezvous.
RunResult run_training_as(const World& world, const config::RunConfig& cfg, Observer& observer, RunControl& control,
                          const std::string& resume_dir = "", const std::vector<std::string>& resume_overrides = {});

}  // namespace droplora::train
