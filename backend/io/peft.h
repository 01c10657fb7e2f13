// Hugging Face PEFT LoRA adapter folders (docs/formats.md §4):
//   adapter_config.json        {"peft_type": "LORA", "r", "lora_alpha", "use_rslora", "target_modules", ...}
//   adapter_model.safetensors  base_model.model.<module>.lora_A.weight [r, in]
//                              base_model.model.<module>.lora_B.weight [out, r]
// What we write, PeftModel.from_pretrained loads unchanged; what PEFT writes
// for a LLaMA-family model, we read. Our own settings travel in a "droplora"
// section of adapter_config.json, which PEFT ignores.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/llama.h"

namespace droplora::io {

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

    // Scaling of one module: alpha (or its pattern) / r (or √r with rsLoRA), r
    // being the module's own rank.
    double scaling_for(const std::string& module, int64_t module_rank) const;
};

PeftConfig read_peft_config(const std::string& adapter_dir);

// Attaches every adapter in the folder to the model's linears (adapters with
// drop rate 0, so they act as plain LoRA). Throws Error naming the file and
// tensor when a module does not exist or a shape does not fit.
// Returns the number of adapted modules.
int load_peft_adapter(model::LlamaModelImpl& model, const std::string& adapter_dir);

struct PeftWriteOptions {
    std::string base_model_name_or_path;
    nlohmann::json droplora;  // written as the "droplora" section
};

// Writes the model's attached adapters (B with any learned mask folded in) as a
// PEFT folder. Written into "<dir>.tmp" and renamed, so the folder is whole.
void save_peft_adapter(const model::LlamaModelImpl& model, const std::string& adapter_dir,
                       const PeftWriteOptions& options);

}  // namespace droplora::io
