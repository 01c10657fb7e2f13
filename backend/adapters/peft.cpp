#include "adapters/lora_adapter.h"
#include "adapters/peft.h"
#include "adapters/scaling.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "io/safetensors.h"
#include "io/safetensors_torch.h"

namespace droplora::adapters {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kPrefix = "base_model.model.";

// PEFT matches pattern keys against the end of the module name.
bool matches_suffix(const std::string& module, const std::string& key) {
    if (module == key) return true;
    return module.size() > key.size() && module.compare(module.size() - key.size(), key.size(), key) == 0 &&
           module[module.size() - key.size() - 1] == '.';
}

std::string short_name(const std::string& module) {
    auto dot = module.rfind('.');
    return dot == std::string::npos ? module : module.substr(dot + 1);
}

}  // namespace

double PeftConfig::scaling_for(const std::string& module, int64_t module_rank) const {
    double alpha = lora_alpha;
    for (const auto& [key, a] : alpha_pattern)
        if (matches_suffix(module, key)) alpha = a;
    return lora_scaling(alpha, module_rank, use_rslora);
}

int64_t PeftConfig::rank_for(const std::string& module) const {
    int64_t rank = r;
    for (const auto& [key, value] : rank_pattern)
        if (matches_suffix(module, key)) rank = value;
    return rank;
}

bool PeftConfig::targets(const std::string& module) const {
    if (target_modules_regex) return true;  // a regular expression: PEFT matched it when it saved the folder
    for (const auto& t : target_modules)
        if (t == "all-linear" || matches_suffix(module, t)) return true;
    return false;
}

PeftConfig read_peft_config(const std::string& adapter_dir) {
    const std::string path = (fs::path(adapter_dir) / "adapter_config.json").string();
    if (!fs::exists(path)) fail(path, "missing (is " + adapter_dir + " a PEFT adapter folder?)");
    json j = json::parse(files::read_file(path, 16 << 20), nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(path, "not a valid JSON object");
    PeftConfig c;
    try {
        const std::string type = j.value("peft_type", std::string());
        if (type != "LORA") fail(path, "peft_type is '" + type + "', only LORA adapters are supported");
        if (j.value("use_dora", false)) fail(path, "use_dora adapters are not supported");
        if (j.contains("modules_to_save") && !j["modules_to_save"].is_null() && !j["modules_to_save"].empty())
            fail(path, "modules_to_save is not supported (the adapter would carry full layers)");
        if (j.value("fan_in_fan_out", false)) fail(path, "fan_in_fan_out adapters (GPT-2 Conv1D) are not supported");
        c.r = j.value("r", int64_t{8});
        c.lora_alpha = j.value("lora_alpha", static_cast<double>(c.r));
        c.use_rslora = j.value("use_rslora", false);
        if (j.contains("lora_dropout") && j["lora_dropout"].is_number()) c.lora_dropout = j["lora_dropout"].get<double>();
        if (j.contains("target_modules")) {
            const auto& t = j["target_modules"];
            if (t.is_array()) c.target_modules = t.get<std::vector<std::string>>();
            else if (t.is_string()) {
                c.target_modules = {t.get<std::string>()};
                // PEFT treats a string as a regular expression, except its "all-linear" shorthand.
                c.target_modules_regex = c.target_modules[0] != "all-linear";
            }
        }
        if (j.contains("rank_pattern") && j["rank_pattern"].is_object())
            c.rank_pattern = j["rank_pattern"].get<std::map<std::string, int64_t>>();
        if (j.contains("alpha_pattern") && j["alpha_pattern"].is_object())
            c.alpha_pattern = j["alpha_pattern"].get<std::map<std::string, double>>();
        if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
            c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
        if (j.contains("droplora")) c.droplora = j["droplora"];
    } catch (const json::exception& e) {
        fail(path, std::string("a field has the wrong type: ") + e.what());
    }
    if (c.r < 1) fail(path, "r must be ≥ 1");
    if (!(c.lora_alpha > 0)) fail(path, "lora_alpha must be positive");
    return c;
}

PeftAdapterFile read_peft_adapter(const std::string& adapter_dir, model::LlamaModelImpl& model) {
    PeftAdapterFile out;
    out.config = read_peft_config(adapter_dir);
    const std::string path = (fs::path(adapter_dir) / "adapter_model.safetensors").string();
    out.path = path;
    if (!fs::exists(path)) {
        if (fs::exists(fs::path(adapter_dir) / "adapter_model.bin"))
            fail(path, "missing; adapter_model.bin (pickle) is not supported, save with safe_serialization=True");
        fail(path, "missing");
    }
    out.file = io::SafetensorsFile::open(path);
    std::map<std::string, model::Linear> linears;
    for (auto& [name, lin] : model.named_linears()) linears.emplace(name, lin);

    // Group lora_A / lora_B per module.
    std::map<std::string, std::pair<const io::TensorInfo*, const io::TensorInfo*>> pairs;
    for (const auto& t : out.file->tensors()) {
        std::string name = t.name;
        if (name.rfind(kPrefix, 0) != 0) fail(path, "tensor '" + name + "' does not start with '" + kPrefix + "'");
        name = name.substr(std::string(kPrefix).size());
        // PEFT strips the adapter name on save; accept ".default." if present.
        for (const char* suffix : {".lora_A.weight", ".lora_B.weight", ".lora_A.default.weight", ".lora_B.default.weight"}) {
            const std::string s(suffix);
            if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
                const std::string module = name.substr(0, name.size() - s.size());
                (s.find("lora_A") != std::string::npos ? pairs[module].first : pairs[module].second) = &t;
                name.clear();
                break;
            }
        }
        if (!name.empty()) fail(path, "tensor '" + t.name + "' is not a LoRA A/B weight (only plain LoRA is supported)");
    }
    if (pairs.empty()) fail(path, "holds no LoRA weights");

    const std::string config_path = (fs::path(adapter_dir) / "adapter_config.json").string();
    const auto dims = [](const io::TensorInfo& t) {
        return t.shape.size() == 2 ? std::to_string(t.shape[0]) + "×" + std::to_string(t.shape[1])
                                   : std::to_string(t.shape.size()) + "-D";
    };
    for (const auto& [module, ab] : pairs) {
        auto it = linears.find(module);
        if (it == linears.end())
            fail(path, "module '" + module + "' does not exist in this " + model.config().architecture + " (" +
                           std::to_string(model.config().num_hidden_layers) + " layers)");
        if (!ab.first || !ab.second) fail(path, "module '" + module + "' lacks its lora_A or lora_B weight");
        const model::Linear& lin = it->second;
        const io::TensorInfo& a = *ab.first;
        const io::TensorInfo& b = *ab.second;
        if (a.shape.size() != 2 || b.shape.size() != 2 || a.shape[0] != b.shape[1] || a.shape[1] != lin->in_features() ||
            b.shape[0] != lin->out_features())
            fail(path, "module '" + module + "': lora_A " + dims(a) + " / lora_B " + dims(b) + " do not fit the layer (" +
                           std::to_string(lin->out_features()) + "×" + std::to_string(lin->in_features()) +
                           ", expected lora_A r×" + std::to_string(lin->in_features()) + " and lora_B " +
                           std::to_string(lin->out_features()) + "×r)");
        // adapter_config.json must describe its tensors, or PEFT itself refuses the folder.
        const int64_t expected_rank = out.config.rank_for(module);
        if (a.shape[0] != expected_rank)
            fail(config_path, "says r = " + std::to_string(expected_rank) + " for '" + module + "', but its lora_A has rank " +
                                  std::to_string(a.shape[0]));
        if (!out.config.targets(module))
            fail(config_path, "target_modules does not name '" + short_name(module) + "', but the adapter holds '" +
                                  module + "'");
        out.modules.push_back({module, &a, &b});
    }
    return out;
}

at::Tensor PeftAdapterFile::load(const io::TensorInfo& t) const { return io::load_tensor(*file, t); }

int load_peft_adapter(model::LlamaModelImpl& model, const std::string& adapter_dir) {
    const PeftAdapterFile adapter = read_peft_adapter(adapter_dir, model);
    std::map<std::string, model::Linear> linears;
    for (auto& [name, lin] : model.named_linears()) linears.emplace(name, lin);
    torch::NoGradGuard no_grad;
    for (const auto& m : adapter.modules) {
        model::Linear& lin = linears.at(m.module);
        LoraOptions opts;
        opts.rank = m.a->shape[0];
        opts.rslora = false;  // the exact scaling is folded into alpha below
        opts.alpha = adapter.config.scaling_for(m.module, opts.rank) * static_cast<double>(opts.rank);
        opts.drop_rate = 0;
        opts.mask = MaskMode::None;
        auto lora = attach_lora(*lin, opts);
        lora->lora_A.copy_(adapter.load(*m.a));
        lora->lora_B.copy_(adapter.load(*m.b));
    }
    return static_cast<int>(adapter.modules.size());
}

int init_from_peft_adapter(model::LlamaModelImpl& model, const std::string& adapter_dir) {
    const PeftAdapterFile adapter = read_peft_adapter(adapter_dir, model);
    std::map<std::string, model::Linear> linears;
    for (auto& [name, lin] : model.named_linears()) linears.emplace(name, lin);
    torch::NoGradGuard no_grad;
    for (const auto& m : adapter.modules) {
        LoraAdapter lora = lora_of(*linears.at(m.module));
        // An adapter that does not fit the run is an error, never a module silently left fresh.
        if (lora.is_empty())
            fail(adapter.path, "module '" + m.module + "' is adapted in this file but is not among the run's adapter.targets");
        if (m.a->shape[0] != lora->options().rank)
            fail(adapter.path, "module '" + m.module + "' has rank " + std::to_string(m.a->shape[0]) +
                                   ", the run's adapter.rank is " + std::to_string(lora->options().rank));
        // Keep the learned ΔW: rescale B when the run's scaling differs from the file's.
        const double ratio = adapter.config.scaling_for(m.module, m.a->shape[0]) / lora->options().scaling();
        lora->lora_A.copy_(adapter.load(*m.a));
        lora->lora_B.copy_(adapter.load(*m.b) * ratio);
    }
    return static_cast<int>(adapter.modules.size());
}

void save_peft_adapter(const model::LlamaModelImpl& model, const std::string& adapter_dir,
                       const PeftWriteOptions& options) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    std::set<std::string> targets;
    int64_t rank = -1;
    double alpha = 0;
    bool rslora = false, uniform = true;
    double dropout = 0;
    for (const auto& [name, lin] : model.named_linears()) {
        if (!lin->has_adapter()) continue;
        const auto& o = adapters::lora_of(*lin)->options();
        if (rank < 0) {
            rank = o.rank;
            alpha = o.alpha;
            rslora = o.rslora;
            dropout = o.dropout;
        } else if (o.rank != rank || o.alpha != alpha || o.rslora != rslora) {
            uniform = false;
        }
        targets.insert(short_name(name));
        tensors.emplace_back(kPrefix + name + ".lora_A.weight", adapters::lora_of(*lin)->lora_A.detach().to(torch::kFloat32));
        tensors.emplace_back(kPrefix + name + ".lora_B.weight", adapters::lora_of(*lin)->effective_B().to(torch::kFloat32));
    }
    if (tensors.empty()) fail(adapter_dir, "the model has no adapter to export");
    if (!uniform) fail(adapter_dir, "adapters of different rank/alpha cannot be written as one PEFT config");

    json j;
    j["peft_type"] = "LORA";
    j["task_type"] = "CAUSAL_LM";
    j["r"] = rank;
    // rsLoRA's s = alpha/√r is written as a plain alpha' = s·r: llama.cpp's and
    // Ollama's converters ignore use_rslora, and every reader then agrees.
    j["lora_alpha"] = plain_alpha(alpha, rank, rslora);
    j["lora_dropout"] = dropout;
    j["target_modules"] = std::vector<std::string>(targets.begin(), targets.end());
    j["bias"] = "none";
    j["fan_in_fan_out"] = false;
    j["use_rslora"] = false;
    j["use_dora"] = false;
    j["modules_to_save"] = nullptr;
    j["init_lora_weights"] = true;
    j["base_model_name_or_path"] = options.base_model_name_or_path;
    j["inference_mode"] = true;
    j["rank_pattern"] = json::object();
    j["alpha_pattern"] = json::object();
    j["revision"] = nullptr;
    if (!options.droplora.is_null()) j["droplora"] = options.droplora;
    if (rslora) j["droplora"]["trained_with_rslora_alpha"] = alpha;

    files::StagingFolder staging(adapter_dir);
    files::write_file_atomic(staging.file("adapter_config.json"), j.dump(2) + "\n");
    io::save_tensors(staging.file("adapter_model.safetensors"), tensors);
    staging.commit(/*replace_existing=*/true);
}

}  // namespace droplora::adapters
