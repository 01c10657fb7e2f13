#include "train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "config/run_config.h"
#include "io/peft.h"
#include "io/safetensors_torch.h"

namespace droplora::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string step_dir_name(int64_t step) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
    return buf;
}

std::vector<fs::path> checkpoints_of(const std::string& run_dir) {
    std::vector<fs::path> out;
    const fs::path root = fs::path(run_dir) / "checkpoints";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return out;
    for (const auto& e : fs::directory_iterator(root, ec)) {
        const std::string name = e.path().filename().string();
        if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos &&
            fs::exists(e.path() / "trainer_state.json"))
            out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string save_checkpoint(const std::string& run_dir, const Session& session, torch::optim::Optimizer& optimizer,
                            const TrainerState& state, int keep) {
    const fs::path final_dir = fs::path(run_dir) / "checkpoints" / step_dir_name(state.step);
    const fs::path tmp = final_dir.string() + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) fail(tmp.string(), "cannot create checkpoint folder: " + ec.message());

    io::save_tensors((tmp / "trainable.safetensors").string(), trainable_state(session));
    try {
        torch::save(optimizer, (tmp / "optimizer.pt").string());
    } catch (const c10::Error& e) {
        fail((tmp / "optimizer.pt").string(), std::string("cannot write optimizer state: ") + e.what_without_backtrace());
    }
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    at::Tensor cpu_state;
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        cpu_state = gen.get_state();
    }
    std::vector<std::pair<std::string, at::Tensor>> rng{{"cpu", cpu_state}};
    io::save_tensors((tmp / "rng.safetensors").string(), rng);

    json j = {{"step", state.step},
              {"epoch", state.batcher.epoch},
              {"position", state.batcher.position},
              {"num_examples", state.batcher.num_examples},
              {"data_hash", state.batcher.data_hash},
              {"elapsed_s", state.elapsed_s},
              {"tokens_seen", state.tokens_seen}};
    {
        std::ofstream out(tmp / "trainer_state.json");
        out << j.dump(2) << "\n";
        if (!out) fail((tmp / "trainer_state.json").string(), "write failed (disk full?)");
    }
    config::save_run_config(session.cfg, (tmp / "config.yaml").string());
    if (!session.full_finetune) {
        io::PeftWriteOptions opts;
        opts.base_model_name_or_path = session.cfg.model;
        opts.droplora = droplora_section(session.cfg);
        io::save_peft_adapter(*session.model, (tmp / "adapter").string(), opts);
    }

    fs::remove_all(final_dir, ec);
    fs::rename(tmp, final_dir, ec);
    if (ec) fail(final_dir.string(), "cannot move the checkpoint into place: " + ec.message());

    auto all = checkpoints_of(run_dir);
    for (size_t i = 0; keep > 0 && all.size() > static_cast<size_t>(keep) && i < all.size() - keep; ++i)
        fs::remove_all(all[i], ec);
    return final_dir.string();
}

std::string latest_checkpoint(const std::string& run_dir) {
    auto all = checkpoints_of(run_dir);
    return all.empty() ? std::string() : all.back().string();
}

TrainerState load_checkpoint(const std::string& checkpoint_dir, Session& session, torch::optim::Optimizer& optimizer) {
    const fs::path dir(checkpoint_dir);
    const std::string state_path = (dir / "trainer_state.json").string();
    std::ifstream in(state_path);
    if (!in) fail(state_path, "cannot open (not a checkpoint folder?)");
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(state_path, "not valid JSON");
    TrainerState st;
    try {
        st.step = j.at("step").get<int64_t>();
        st.batcher.epoch = j.at("epoch").get<int64_t>();
        st.batcher.position = j.at("position").get<int64_t>();
        st.batcher.num_examples = j.at("num_examples").get<int64_t>();
        st.batcher.data_hash = j.value("data_hash", std::string());  // absent before content hashes
        st.elapsed_s = j.value("elapsed_s", 0.0);
        st.tokens_seen = j.value("tokens_seen", int64_t{0});
    } catch (const json::exception& e) {
        fail(state_path, std::string("missing or wrong field: ") + e.what());
    }
    load_trainable_state(session, (dir / "trainable.safetensors").string());
    try {
        torch::load(optimizer, (dir / "optimizer.pt").string());
    } catch (const c10::Error& e) {
        fail((dir / "optimizer.pt").string(), std::string("cannot read optimizer state: ") + e.what_without_backtrace());
    }
    auto rng = io::load_all((dir / "rng.safetensors").string());
    auto it = rng.find("cpu");
    if (it == rng.end()) fail((dir / "rng.safetensors").string(), "no 'cpu' generator state");
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(it->second);
    return st;
}

}  // namespace droplora::train
