// Writing and restoring checkpoints (their layout: train/run_folder.h).
// Built in a files::StagingFolder and moved into place, so a checkpoint on disk is always whole;
// a failed write removes its partial folder and throws Error with the file and
// the system's reason. The newest `keep` checkpoints are kept.
#pragma once

#include <cstdint>
#include <string>

#include <torch/optim/optimizer.h>

#include "data/batcher.h"
#include "train/run_folder.h"
#include "train/session.h"

namespace droplora::train {

struct TrainerState {
    int64_t step = 0;  // optimizer steps done
    data::BatcherState batcher;
    double elapsed_s = 0;
    int64_t tokens_seen = 0;
    int64_t world_size = 1;  // processes that trained it (train/distributed.h): a step's batch is theirs together
};

constexpr int kCheckpointsKept = 3;

// The run's adapters as a PEFT folder (B with any learned mask folded in, the
// run's "droplora" section in adapter_config.json): the adapter/ of checkpoints,
// of a finished run, and of live-preview snapshots. Replaces `adapter_dir`.
void save_run_adapter(const Session& session, const std::string& adapter_dir);

// Returns the checkpoint folder written.
std::string save_checkpoint(const std::string& run_dir, const Session& session, torch::optim::Optimizer& optimizer,
                            const TrainerState& state, int keep = kCheckpointsKept);

// Restores trainable tensors, optimizer, RNG and state from a checkpoint folder.
TrainerState load_checkpoint(const std::string& checkpoint_dir, Session& session, torch::optim::Optimizer& optimizer);

}  // namespace droplora::train
