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
#include "adapters/peft.h"
#include "common/files.h"
#include "io/safetensors_torch.h"
#include "train/run_folder.h"

namespace droplora::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// torch::save writes through a zip writer whose destructor throws when the
// disk is full, which ends the process; serialising into memory first and
// writing the bytes ourselves turns every failure into an Error.
void save_optimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
    std::ostringstream bytes;
    try {
        torch::serialize::OutputArchive archive;
        optimizer.save(archive);
        archive.save_to(bytes);
    } catch (const c10::Error& e) {
        fail(path, std::string("cannot serialise the optimizer state: ") + e.what_without_backtrace());
    }
    files::write_file_atomic(path, bytes.str());
}

}  // namespace

void save_run_adapter(const Session& session, const std::string& adapter_dir) {
    adapters::PeftWriteOptions opts;
    opts.base_model_name_or_path = session.cfg.model;
    opts.droplora = droplora_section(session.cfg);
    adapters::save_peft_adapter(*session.model, adapter_dir, opts);
}

std::string save_checkpoint(const std::string& run_dir, const Session& session, torch::optim::Optimizer& optimizer,
                            const TrainerState& state, int keep) {
    const fs::path final_dir = run_folder::checkpoint_dir(run_dir, state.step);
    std::error_code ec;
    fs::create_directories(final_dir.parent_path(), ec);
    if (ec) fail(final_dir.parent_path().string(), "cannot create the checkpoints folder: " + ec.message());
    {
        // A checkpoint is whole or absent: the newest whole one stays the newest.
        files::StagingFolder staging(final_dir.string());
        const fs::path tmp = staging.path();
        io::save_tensors((tmp / run_folder::kTrainable).string(), trainable_state(session));
        save_optimizer(optimizer, (tmp / run_folder::kOptimizer).string());
        at::Generator gen = at::detail::getDefaultCPUGenerator();
        at::Tensor cpu_state;
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            cpu_state = gen.get_state();
        }
        std::vector<std::pair<std::string, at::Tensor>> rng{{"cpu", cpu_state}};
        io::save_tensors((tmp / run_folder::kRng).string(), rng);

        json j = {{"step", state.step},
                  {"epoch", state.batcher.epoch},
                  {"position", state.batcher.position},
                  {"num_examples", state.batcher.num_examples},
                  {"data_hash", state.batcher.data_hash},
                  {"elapsed_s", state.elapsed_s},
                  {"tokens_seen", state.tokens_seen},
                  {"world_size", state.world_size}};
        files::write_file_atomic((tmp / run_folder::kTrainerState).string(), j.dump(2) + "\n");
        config::save_run_config(session.cfg, (tmp / run_folder::kConfig).string());
        if (!session.full_finetune) save_run_adapter(session, (tmp / run_folder::kAdapter).string());
        staging.commit(/*replace_existing=*/true);  // the same step saved again (a resumed run)
    }

    auto all = run_folder::list_checkpoints(run_dir);
    for (size_t i = 0; keep > 0 && all.size() > static_cast<size_t>(keep) && i < all.size() - keep; ++i)
        fs::remove_all(all[i].dir, ec);
    return final_dir.string();
}

TrainerState load_checkpoint(const std::string& checkpoint_dir, Session& session, torch::optim::Optimizer& optimizer) {
    const fs::path dir(checkpoint_dir);
    const std::string state_path = (dir / run_folder::kTrainerState).string();
    if (!fs::exists(state_path)) fail(checkpoint_dir, "not a checkpoint folder (no trainer_state.json)");
    json j = json::parse(files::read_file(state_path, 1 << 20), nullptr, false);
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
        st.world_size = j.value("world_size", int64_t{1});  // absent before data-parallel training
    } catch (const json::exception& e) {
        fail(state_path, std::string("missing or wrong field: ") + e.what());
    }
    load_trainable_state(session, (dir / run_folder::kTrainable).string());
    try {
        torch::load(optimizer, (dir / run_folder::kOptimizer).string());
    } catch (const c10::Error& e) {
        fail((dir / run_folder::kOptimizer).string(), std::string("cannot read optimizer state: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
        fail((dir / run_folder::kOptimizer).string(), std::string("cannot read optimizer state: ") + e.what());
    }
    auto rng = io::load_all((dir / run_folder::kRng).string());
    auto it = rng.find("cpu");
    if (it == rng.end()) fail((dir / run_folder::kRng).string(), "no 'cpu' generator state");
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(it->second);
    return st;
}

}  // namespace droplora::train
