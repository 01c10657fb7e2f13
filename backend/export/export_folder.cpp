#include "export/export_folder.h"

#include <set>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "train/run_folder.h"

namespace droplora::exports {

namespace fs = std::filesystem;

// A run folder's newest checkpoint that verifies (saying which newer ones were
// passed over), or the checkpoint folder itself.
std::string resolve_checkpoint(const std::string& source, const std::function<void(const std::string&)>& say) {
    if (run_folder::is_checkpoint_folder(source)) {
        const std::string why = run_folder::checkpoint_problem(source);
        if (!why.empty()) fail(source, "is not a loadable checkpoint: " + why);
        return source;
    }
    if (!fs::is_directory(source)) fail(source, "is neither a run folder nor a checkpoint folder");
    std::vector<std::string> skipped;
    const run_folder::Checkpoint ckpt = run_folder::newest_good_checkpoint(source, &skipped);
    for (const auto& why : skipped) say("skipped a damaged checkpoint: " + why);
    if (ckpt.dir.empty()) {
        if (!skipped.empty()) fail(source, "no checkpoint verifies (newest: " + skipped.front() + ")");
        fail(source, "has no checkpoint yet (checkpoints/step-*/)");
    }
    return ckpt.dir;
}

bool is_export_file(const std::string& name) {
    static const std::set<std::string> names = {
        "adapter_config.json", "adapter_model.safetensors", "config.json", "model.safetensors",
        "model.safetensors.index.json", "tokenizer.model", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "generation_config.json", "chat_template.jinja", "Modelfile",
        "adapter.gguf", "model.gguf"};
    if (names.count(name)) return true;
    return name.rfind("model-", 0) == 0 && name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0;
}

bool output_folder_holds_export(const std::string& out_dir, const std::string& source) {
    check_output_folder(out_dir, source, /*replace=*/true);
    std::error_code ec;
    return fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec);
}

void check_output_folder(const std::string& out_dir, const std::string& source, bool replace) {
    if (out_dir.empty()) fail("--out", "is empty; name the folder to write the export into");
    std::error_code ec;
    const fs::path out = fs::weakly_canonical(fs::absolute(out_dir), ec).lexically_normal();
    const fs::path cwd = fs::weakly_canonical(fs::current_path(ec), ec);
    const fs::path src = fs::weakly_canonical(fs::absolute(source), ec).lexically_normal();
    const auto is_within = [](const fs::path& inner, const fs::path& outer) {
        const auto rel = inner.lexically_relative(outer);
        return !rel.empty() && *rel.begin() != "..";
    };
    if (out == out.root_path()) fail(out_dir, "is the file system's root; choose a new folder for the export");
    if (is_within(cwd, out)) fail(out_dir, "is the current folder or a folder above it; choose a new folder for the export");
    if (is_within(src, out))
        fail(out_dir, "is the run or checkpoint folder being exported, or a folder above it; choose a new folder");
    if (!fs::exists(out, ec)) return;
    if (!fs::is_directory(out, ec)) fail(out_dir, "exists and is not a folder");
    std::vector<std::string> foreign;
    for (const auto& e : fs::directory_iterator(out, ec))
        if (!e.is_regular_file(ec) || !is_export_file(e.path().filename().string()))
            foreign.push_back(e.path().filename().string());
    const bool empty = fs::is_empty(out, ec);
    if (empty) return;
    if (!foreign.empty())
        fail(out_dir, "is not empty and holds files that are not an export (" + foreign.front() +
                          (foreign.size() > 1 ? ", …" : "") + "); choose a new folder");
    if (!replace) fail(out_dir, "already holds an export; use --force to replace it, or choose a new folder");
}

std::shared_ptr<void> lock_source_run(const std::string& source, const std::string& checkpoint) {
    // No training may replace the checkpoint while it is read.
    const std::string run_dir = run_folder::is_checkpoint_folder(source)
                                    ? fs::path(checkpoint).parent_path().parent_path().string()
                                    : source;
    if (!run_folder::is_run_folder(run_dir)) return nullptr;
    return std::make_shared<run_folder::Lock>(run_dir, "export");
}

}  // namespace droplora::exports
