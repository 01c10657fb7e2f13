// RunConfig: the one description of a run. The GUI form edits it, the CLI
// reads it from YAML (+ --set key=value overrides), the trainer consumes it,
// and the run folder keeps the resolved copy as config.yaml.
// A setting exists here and nowhere else. Keys, defaults and ranges are
// documented in docs/run-config.md; every key below has the same YAML name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace droplora::config {

struct DataConfig {
    std::string train;             // .jsonl / .json / .txt
    std::string val;               // optional; else val_fraction of train
    double val_fraction = 0.1;     // [0, 0.9]
    std::string format = "auto";   // auto | alpaca | chat | completion | text
    std::string templ = "alpaca";  // YAML key "template": alpaca | llama2 | chatml | plain
    int64_t max_seq_len = 512;     // [8, 1<<20]
    bool train_on_prompt = false;
    bool skip_bad_rows = false;
};

struct AdapterConfig {
    std::string method = "droplora";  // lora | droplora | full
    int64_t rank = 16;                 // [1, 4096]
    double alpha = 32;                 // > 0
    double drop_rate = 0.5;            // [0, 1); ignored (0) for lora
    std::string mask = "step";         // step | token | learned
    std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "up_proj", "down_proj"};
    bool rslora = false;
    double dropout = 0.0;              // PEFT lora_dropout on the input, [0, 1)
    std::string init_adapter;          // optional PEFT adapter folder to start from
};

struct TrainConfig {
    int64_t max_steps = 1000;  // optimizer steps; 0 = use epochs
    double epochs = 0;         // used when max_steps == 0
    int64_t batch_size = 4;
    int64_t grad_accum = 1;
    double lr = 3.0e-4;
    std::string schedule = "linear";  // linear | cosine | constant
    int64_t warmup_steps = 100;
    double weight_decay = 0.0;
    double max_grad_norm = 1.0;  // 0 = no clipping
    int64_t seed = 42;
    int64_t eval_every = 100;    // 0 = only at the end
    int64_t save_every = 200;    // 0 = only at the end / on stop
    int64_t stats_every = 10;    // 0 = off
    int64_t log_every = 1;
    bool gradient_checkpointing = false;
    bool stop_on_divergence = false;  // a finite divergence (train/divergence.h) stops the run, not only warns
};

// Data-parallel training (docs/distributed.md). How many processes run, and
// which rank this one is, comes from the launch (--nproc-per-node or torchrun's
// environment), not from the file: the same run file trains on one process or many.
struct DistributedConfig {
    std::string backend = "auto";  // auto | gloo | nccl (this build: Gloo; nccl is refused)
    int64_t timeout_s = 600;       // a collective that waits longer than this fails the run (a dead or hung rank)
};

struct RunConfig {
    std::string model;                // Hugging Face model folder
    DataConfig data;
    AdapterConfig adapter;
    TrainConfig train;
    DistributedConfig distributed;
    std::string device = "auto";      // auto | cpu | cuda | cuda:N
    std::string precision = "auto";   // auto | fp32 | bf16
    std::string output = "runs/run";  // run folder
};

// Reads a YAML run file. Relative paths (model, data.train, data.val, output,
// adapter.init_adapter) are resolved against the YAML file's folder.
// Unknown keys are an error naming the file, the key, and the nearest known key
// ("run.yaml: unknown key 'adapter.rnak' (did you mean 'adapter.rank'?)").
// Type and range errors name the file and the key.
RunConfig load_run_config(const std::string& yaml_path);
RunConfig parse_run_config(const std::string& yaml_text, const std::string& where,
                           const std::string& base_dir = ".");

// Applies one "key=value" override (dotted key, YAML scalar/list value).
void apply_override(RunConfig& cfg, const std::string& assignment);

// Checks ranges and choices; throws Error("<where>: <key>: <problem>").
void validate(const RunConfig& cfg, const std::string& where);

// YAML text of the whole config, every key written (the resolved config).
std::string to_yaml(const RunConfig& cfg);
void save_run_config(const RunConfig& cfg, const std::string& yaml_path);

// Every valid dotted key, in schema order (for docs, suggestions and the GUI).
const std::vector<std::string>& known_keys();

// What a setting may hold — the one table validation uses, and the workbench
// fills its combo boxes and spin-box ranges from. choices(): the allowed
// values of a choice setting ("adapter.mask" → step, token, learned; for
// adapter.targets the module names), empty for other keys. range(): the
// bounds of a number setting (max = +inf when unbounded), nullopt for others.
struct FieldRange {
    double min = 0;
    double max = 0;
    bool min_exclusive = false;  // (min, …: alpha and lr must be > 0
    bool max_exclusive = false;  // …, max): drop rates must be < 1
};
const std::vector<std::string>& choices(const std::string& key);
std::optional<FieldRange> range(const std::string& key);

}  // namespace droplora::config
