// Checkpoints: run_dir/checkpoints/step-NNNNNNNN/
//   trainable.safetensors   the trainable tensors, exact (fp32)
//   optimizer.pt            AdamW moments and step counts (torch::save)
//   rng.safetensors         torch's CPU (and CUDA) generator states
//   trainer_state.json      step, data position, elapsed time, tokens seen
//   config.yaml             the resolved run config
//   adapter/                the PEFT export of this step (loadable on its own)
// Written into "<dir>.tmp" and renamed, so a checkpoint on disk is always whole;
// the newest `keep` checkpoints are kept.
#pragma once

#include <cstdint>
#include <string>

#include <torch/optim/optimizer.h>

#include "data/batcher.h"
#include "train/session.h"

namespace droplora::train {

struct TrainerState {
    int64_t step = 0;  // optimizer steps done
    data::BatcherState batcher;
    double elapsed_s = 0;
    int64_t tokens_seen = 0;
};

constexpr int kCheckpointsKept = 3;

// Returns the checkpoint folder written.
std::string save_checkpoint(const std::string& run_dir, const Session& session, torch::optim::Optimizer& optimizer,
                            const TrainerState& state, int keep = kCheckpointsKept);

// The newest whole checkpoint of a run folder, or "" when it has none.
std::string latest_checkpoint(const std::string& run_dir);

// Restores trainable tensors, optimizer, RNG and state from a checkpoint folder.
TrainerState load_checkpoint(const std::string& checkpoint_dir, Session& session, torch::optim::Optimizer& optimizer);

}  // namespace droplora::train
