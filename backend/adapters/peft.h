// Hugging Face PEFT LoRA adapter folders (docs/formats.md §4):
//   adapter_config.json        {"peft_type": "LORA", "r", "lora_alpha", "use_rslora", "target_modules", ...}
//   adapter_model.safetensors  base_model.model.<module>.lora_A.weight [r, in]
//                              base_model.model.<module>.lora_B.weight [out, r]
// What we write, PeftModel.from_pretrained loads unchanged; what PEFT writes
// for a LLaMA-family model, we read. Our own settings travel in a "droplora"
// section of adapter_config.json, which PEFT ignores.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/llama.h"

namespace droplora::adapters {

struct PeftConfig {
    int64_t r = 8;
    double lora_alpha = 8;
    bool use_rslora = false;
    double lora_dropout = 0;
    std::vector<std::string> target_modules;
    std::map<std::string, int64_t> rank_pattern;
    std::map<std::string, double> alpha_pattern;
    std::string base_model_name_or_path;
    nlohmann::json droplora;  // our section (method, drop_rate, mask, ...) or null

    bool target_modules_regex = false;  // target_modules was a string (a regular expression)

    int64_t rank_for(const std::string& module) const;  // r, or its rank_pattern entry
    bool targets(const std::string& module) const;      // target_modules names the module
    // Scaling of one module: alpha (or its pattern) / r (or √r with rsLoRA), r
    // being the module's own rank.
    double scaling_for(const std::string& module, int64_t module_rank) const;
};

PeftConfig read_peft_config(const std::string& adapter_dir);

// The one reader of a PEFT folder: adapter_config.json and every lora_A/lora_B
// pair, checked against the model (each module exists and the shapes fit) and
// against the config (r / rank_pattern and target_modules describe the tensors).
// Throws Error naming the file, the module and what is wrong.
struct PeftAdapterFile {
    struct Module {
        std::string module;  // "model.layers.0.self_attn.q_proj"
        const io::TensorInfo* a = nullptr;
        const io::TensorInfo* b = nullptr;
    };
    PeftConfig config;
    std::string path;  // adapter_model.safetensors
    std::shared_ptr<io::SafetensorsFile> file;
    std::vector<Module> modules;
    at::Tensor load(const io::TensorInfo& t) const;  // fp32 CPU
};
PeftAdapterFile read_peft_adapter(const std::string& adapter_dir, model::LlamaModelImpl& model);

// Attaches every adapter in the folder to the model's linears (adapters with
// drop rate 0, so they act as plain LoRA). Throws Error naming the file and
// tensor when a module does not exist or a shape does not fit.
// Returns the number of adapted modules.
int load_peft_adapter(model::LlamaModelImpl& model, const std::string& adapter_dir);

// Copies a PEFT adapter into the adapters a run has already attached
// (adapter.init_adapter): every module of the file must be one of the run's
// targets with the run's rank; B is rescaled so ΔW stays what was learned when
// the run's scaling differs. Returns the number of modules initialised.
int init_from_peft_adapter(model::LlamaModelImpl& model, const std::string& adapter_dir);

struct PeftWriteOptions {
    std::string base_model_name_or_path;
    nlohmann::json droplora;  // written as the "droplora" section
};

// Writes the model's attached adapters (B with any learned mask folded in) as a
// PEFT folder. Built in a staging folder beside it and moved into place
// (files::StagingFolder), so the folder is whole; an existing folder at
// `adapter_dir` is replaced, so callers check first that it may be.
void save_peft_adapter(const model::LlamaModelImpl& model, const std::string& adapter_dir,
                       const PeftWriteOptions& options);

}  // namespace droplora::adapters
