// The tensors of a Hugging Face checkpoint folder, wherever they live: one
// model.safetensors, or the shards a model.safetensors.index.json names.
// Torch-free, like io/safetensors.h.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace droplora::io {

// Throws Error("<dir>: ...") unless `dir` is a folder: "is a file, expected a
// model folder ...", "does not exist", ... Commands call it before anything
// reads the folder (else a file reaches the tokenizer: "not a sentencepiece model").
void require_model_folder(const std::string& dir);

// A Hugging Face checkpoint folder: model.safetensors, or a sharded checkpoint
// described by model.safetensors.index.json ({"weight_map": {tensor: file}}).
// Every shard is opened and validated; every tensor in the weight map must be
// in its shard; tensor names must be unique across shards.
class CheckpointFiles {
public:
    static CheckpointFiles open(const std::string& model_dir);
    const TensorInfo* find(const std::string& name, const SafetensorsFile** file) const;
    std::vector<std::string> names() const;  // sorted
    const std::string& dir() const { return dir_; }
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

private:
    std::string dir_;
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
    std::map<std::string, std::pair<int, const TensorInfo*>> where_;
};

}  // namespace droplora::io
