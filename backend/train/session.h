// Everything a RunConfig builds before the first step, shared by training,
// export and the benchmark: device and precision, tokenizer, the base model
// with adapters attached to the target modules (or all weights trainable for
// method: full), and the parameters the optimizer owns, in a fixed order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "config/run_config.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "model/llama.h"

namespace droplora::train {

struct Session {
    config::RunConfig cfg;
    c10::Device device = c10::Device(c10::kCPU);
    c10::ScalarType dtype = c10::kFloat;
    std::shared_ptr<data::Tokenizer> tokenizer;
    model::LlamaModel model{nullptr};
    bool full_finetune = false;
    // Trainable tensors by stable name ("<module>.lora_A", "<module>.mask_logits",
    // or Hugging Face names for full fine-tuning); the optimizer's order.
    std::vector<std::pair<std::string, torch::Tensor>> trainable;

    std::vector<std::pair<std::string, model::Linear>> adapted_linears() const;
};

using LogFn = std::function<void(const std::string&)>;

// Loads the model of cfg.model on cfg.device / cfg.precision, seeds torch with
// cfg.train.seed, attaches adapters (initialised as PEFT does, or loaded from
// cfg.adapter.init_adapter). Throws Error naming what is wrong.
Session build_session(const config::RunConfig& cfg, const LogFn& log = {});

// The trainable state as named CPU fp32 tensors (checkpoints), and back.
std::vector<std::pair<std::string, torch::Tensor>> trainable_state(const Session& s);
void load_trainable_state(Session& s, const std::string& safetensors_path);

// The run's examples: the training file, and the validation file or a seeded
// split of the training file (data.val_fraction).
struct RunData {
    std::vector<data::Example> train;
    std::vector<data::Example> val;
    int64_t pad_id = 0;
};
RunData load_run_data(const config::RunConfig& cfg, const data::Tokenizer& tok, const LogFn& log = {});

// The "droplora" section written into adapter_config.json.
nlohmann::json droplora_section(const config::RunConfig& cfg);

}  // namespace droplora::train
