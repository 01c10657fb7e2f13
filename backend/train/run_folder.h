// A run folder, the one place its layout is spelled (docs/architecture.md, "Run folders"):
//
//   <run>/config.yaml            the resolved run config (paths absolute)
//   <run>/metrics.jsonl          one JSON line per logged step, evaluation, statistics sample
//   <run>/checkpoints/step-NNNNNNNN/
//        trainable.safetensors   the trainable tensors (fp32)
//        optimizer.pt            AdamW state (torch::save)
//        rng.safetensors         generator states
//        trainer_state.json      step, data position, time, tokens seen
//        config.yaml             the config this checkpoint was trained with
//        adapter/                its PEFT adapter (absent for full fine-tuning)
//   <run>/adapter/               the final PEFT adapter
//   <run>/scores.json            how adapter/ (and the base model) scored on the validation
//                                file, written by the workbench; removed when adapter/ is rewritten
//   <run>/.droplora.lock         held (flock) by the one process training or exporting the run
//
// Torch-free: trainer, exports, CLI and workbench all read the layout from here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "train/metrics_log.h"

namespace droplora::run_folder {

inline constexpr const char* kConfig = "config.yaml";
inline constexpr const char* kMetrics = "metrics.jsonl";
inline constexpr const char* kCheckpoints = "checkpoints";
inline constexpr const char* kAdapter = "adapter";
inline constexpr const char* kLock = ".droplora.lock";
inline constexpr const char* kScores = "scores.json";
// Inside a checkpoint folder.
inline constexpr const char* kTrainable = "trainable.safetensors";
inline constexpr const char* kOptimizer = "optimizer.pt";
inline constexpr const char* kRng = "rng.safetensors";
inline constexpr const char* kTrainerState = "trainer_state.json";

std::string join(const std::string& dir, const std::string& name);
std::string config_path(const std::string& run_dir);
std::string metrics_path(const std::string& run_dir);
std::string adapter_dir(const std::string& run_dir);
std::string checkpoints_dir(const std::string& run_dir);
std::string checkpoint_dir(const std::string& run_dir, int64_t step);  // .../checkpoints/step-00000042

// A folder that holds a run: its config.yaml or its metrics.jsonl.
bool is_run_folder(const std::string& dir);
// A run folder with something a new training would overwrite (metrics or checkpoints).
bool holds_training(const std::string& dir);
// A checkpoint folder (has trainer_state.json).
bool is_checkpoint_folder(const std::string& dir);

struct Checkpoint {
    std::string dir;
    int64_t step = 0;
};

// The checkpoints of a run, oldest first: folders named step-<digits> (never
// a *.tmp folder of an interrupted write) that hold every file a checkpoint
// has. This is the one rule for "a checkpoint": resume, export and the
// workbench use it alike.
std::vector<Checkpoint> list_checkpoints(const std::string& run_dir);

// Why `dir` is not a loadable checkpoint, or "" when it is: every file is
// present, the safetensors files pass their validating reader, trainer_state.json
// parses with its fields, config.yaml loads, optimizer.pt is a whole zip
// archive, and the adapter folder (when the run has one) is whole.
std::string checkpoint_problem(const std::string& dir);

// The newest checkpoint that verifies (checkpoint_problem is ""). Each newer
// one that does not is reported through `skipped` ("<dir>: <why>") so the
// caller can say which one was passed over. Empty `dir` when none verifies.
Checkpoint newest_good_checkpoint(const std::string& run_dir, std::vector<std::string>* skipped = nullptr);

// How many processes trained the checkpoint in `dir` (trainer_state.json's
// world_size; 1 when absent, as before data-parallel training, or unreadable:
// checkpoint_problem reports that). A resume needs the same count.
int64_t checkpoint_world_size(const std::string& dir);

// Removes what interrupted writes left: checkpoints/step-*.tmp*, empty
// step-* folders, and "*.tmp-<pid>" files of atomic writes. Returns what was removed.
std::vector<std::string> clean_leftovers(const std::string& run_dir);

// Ownership of a run folder by one process (flock on <run>/.droplora.lock,
// which records pid, host and what it is doing). A second owner gets an Error
// naming the holder; a lock left by a process that died is free again (the
// kernel drops flocks with their process), so it is taken over silently.
class Lock {
public:
    // Creates the folder when missing. `purpose`: "training", "export", ...
    Lock(const std::string& run_dir, const std::string& purpose);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

private:
    int fd_ = -1;
    std::string path_;
};

// A run as the workbench and the CLI open it: its resolved config (when
// config.yaml is there and loads) and its metrics history.
struct OpenedRun {
    std::string dir;
    std::optional<config::RunConfig> config;
    std::string config_error;  // why config.yaml did not load, when it exists
    train::MetricsHistory history;
    std::vector<Checkpoint> checkpoints;
    bool has_adapter = false;  // <run>/adapter/ holds a whole PEFT adapter
};
OpenedRun open_run(const std::string& run_dir);

// The adapter to answer with: the final adapter/, or the newest step-N/adapter/
// that is whole (preferred while `running`, as the final one may be an older run's).
// Empty when there is none.
std::string newest_adapter(const std::string& run_dir, bool running);

// The held-out scores of a run's final adapter (exact match and loss on the
// validation file, greedy answers; train/preview.h's score_adapter) and of the
// base model beside it, so the runs table shows them without scoring again.
struct HeldOutScores {
    std::string data;  // the file scored
    double loss = 0, perplexity = 0, exact_match = 0;
    int64_t matched = 0, examples = 0;
    bool has_base = false;
    double base_exact_match = 0;
    int64_t base_matched = 0;
};
// Written atomically; throws Error naming the file when it cannot be.
void write_scores(const std::string& run_dir, const HeldOutScores& scores);
// nullopt when absent or not readable (an old or damaged file is not an error: it is scored again).
std::optional<HeldOutScores> read_scores(const std::string& run_dir);
// Called by whatever rewrites adapter/: the scores were of the adapter before.
void forget_scores(const std::string& run_dir);

// A PEFT adapter folder that is whole (adapter_config.json and adapter_model.safetensors).
bool is_adapter_folder(const std::string& dir);

}  // namespace droplora::run_folder
