#include "io/checkpoint_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "io/strict_json.h"

namespace droplora::io {

using strict::errno_text;
using strict::Json;
using strict::parse_strict_json;
using strict::quoted;
using strict::tensor_where;
using strict::valid_utf8;

namespace {

std::string read_small_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open: " + errno_text());
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) fail(path, "cannot read: " + errno_text());
    return s.str();
}

// Shard names must stay inside the checkpoint folder.
bool safe_relative_name(const std::string& name) {
    if (name.empty() || name.front() == '/') return false;
    for (const auto& part : std::filesystem::path(name))
        if (part == "..") return false;
    return true;
}

}  // namespace

void require_model_folder(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (fs::is_directory(st)) return;
    if (dir.empty()) fail("model", "no model folder given");
    if (!fs::exists(st))
        fail(dir, "does not exist (expected a Hugging Face model folder: config.json, model.safetensors, "
                  "tokenizer.model)");
    fail(dir, std::string(fs::is_regular_file(st) ? "is a file" : "is not a folder") +
                  ", expected a Hugging Face model folder (config.json, model.safetensors, tokenizer.model)");
}

CheckpointFiles CheckpointFiles::open(const std::string& model_dir) {
    namespace fs = std::filesystem;
    CheckpointFiles ckpt;
    ckpt.dir_ = model_dir;
    std::error_code ec;
    const fs::path dir(model_dir);
    require_model_folder(model_dir);
    const std::string single = (dir / "model.safetensors").string();
    const std::string index_path = (dir / "model.safetensors.index.json").string();

    // shard path -> tensors the index puts there (empty for a single-file checkpoint)
    std::vector<std::pair<std::string, std::vector<std::string>>> shards;
    if (fs::exists(single, ec)) {
        shards.push_back({single, {}});
    } else if (fs::exists(index_path, ec)) {
        const std::string text = read_small_file(index_path);
        std::size_t bad_at = 0;
        if (!valid_utf8(text, &bad_at))
            fail(index_path, "not valid UTF-8 (bad byte at offset " + std::to_string(bad_at) + ")");
        const Json index =
            parse_strict_json(text, 64, index_path, [&](const std::vector<std::string>& path, const std::string& key) {
                fail(index_path, (path.empty() ? std::string() : quoted(path.back()) + ": ") + "key " + quoted(key) +
                                     " appears more than once");
            });
        if (!index.is_object()) fail(index_path, "not a JSON object");
        if (!index.contains("weight_map") || !index["weight_map"].is_object())
            fail(index_path, "missing \"weight_map\" object ({tensor name: shard file})");
        const Json& weight_map = index["weight_map"];
        if (weight_map.empty()) fail(index_path, "weight_map lists no tensors");
        std::map<std::string, std::size_t> shard_slot;
        for (const auto& [name, file] : weight_map.items()) {
            if (!file.is_string())
                fail(index_path, "weight_map: tensor " + quoted(name) + " maps to a JSON " + file.type_name() +
                                     ", not a file name");
            const std::string& rel = file.get_ref<const std::string&>();
            if (!safe_relative_name(rel))
                fail(index_path, "weight_map: tensor " + quoted(name) + " maps to " + quoted(rel) +
                                     ", which is not a file inside the folder");
            const std::string shard = (dir / rel).string();
            auto [it, fresh] = shard_slot.emplace(shard, shards.size());
            if (fresh) {
                if (!fs::is_regular_file(shard, ec))
                    fail(shard, "shard listed in " + index_path + " (for tensor " + quoted(name) + ") does not exist");
                shards.push_back({shard, {}});
            }
            shards[it->second].second.push_back(name);
        }
    } else {
        std::string msg = "no model.safetensors or model.safetensors.index.json";
        if (fs::exists(dir / "pytorch_model.bin", ec) || fs::exists(dir / "pytorch_model.bin.index.json", ec))
            msg +=
                "; found pytorch_model.bin, but .bin checkpoints are not supported: convert the model to "
                "safetensors (e.g. save_pretrained(..., safe_serialization=True))";
        fail(model_dir, msg);
    }

    for (const auto& [shard_path, mapped] : shards) {
        const int slot = static_cast<int>(ckpt.files_.size());
        ckpt.files_.push_back(SafetensorsFile::open(shard_path));
        const SafetensorsFile& file = *ckpt.files_.back();
        for (const std::string& name : mapped)
            if (file.find(name) == nullptr)
                fail(tensor_where(shard_path, name), "listed in " + index_path + " but not in this shard");
        for (const TensorInfo& t : file.tensors()) {
            auto [it, fresh] = ckpt.where_.emplace(t.name, std::make_pair(slot, &t));
            if (!fresh)
                fail(tensor_where(shard_path, t.name),
                     "also in " + ckpt.files_[static_cast<std::size_t>(it->second.first)]->path() +
                         " (a tensor may live in one shard only)");
        }
    }
    return ckpt;
}

const TensorInfo* CheckpointFiles::find(const std::string& name, const SafetensorsFile** file) const {
    const auto it = where_.find(name);
    if (it == where_.end()) {
        if (file != nullptr) *file = nullptr;
        return nullptr;
    }
    if (file != nullptr) *file = files_[static_cast<std::size_t>(it->second.first)].get();
    return it->second.second;
}

std::vector<std::string> CheckpointFiles::names() const {
    std::vector<std::string> out;
    out.reserve(where_.size());
    for (const auto& [name, _] : where_) out.push_back(name);
    return out;
}

}  // namespace droplora::io
