// GGUF exports for llama.cpp and Ollama (docs/gguf.md), each read back by our
// own GGUF reader and compared tensor by tensor with what was meant. Torch-free surface.
//
//   adapter  DIR/adapter.gguf  the run's LoRA adapters as llama.cpp LoRA adapter
//   model    DIR/model.gguf    base + adapters merged, self-contained (vocabulary,
//                              special tokens, chat template), in f32|f16|bf16|q8_0
// and an Ollama Modelfile beside each. The folder is written beside DIR and
// moved into place whole, so a failed export leaves nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "io/gguf.h"

namespace droplora::exports {

enum class GgufKind { Adapter, Model };

struct GgufExportOptions {
    io::GgmlType type = io::GgmlType::F16;  // model: every 2-D weight (1-D norms stay f32); adapter: always f32
    // An existing out_dir that holds only an earlier GGUF export is replaced;
    // without it, an existing non-empty out_dir is refused.
    bool replace = false;
};

struct GgufExportReport {
    std::string out_dir;
    std::string file;            // the .gguf written
    int64_t tensors = 0;
    int64_t metadata_keys = 0;
    double worst_error = 0;      // max |read back − meant| / bound, over all values (≤ 1 passes)
    std::string worst_tensor;
    int64_t f16_fallbacks = 0;   // q8_0 tensors whose rows are not whole blocks of 32, written f16
    bool verified = false;
    std::string summary;         // one line for logs and dialogs
};

using GgufLog = std::function<void(const std::string&)>;

// `source` is a run folder (its latest checkpoint) or a checkpoint folder.
GgufExportReport export_gguf(const std::string& source, GgufKind kind, const std::string& out_dir,
                             const GgufExportOptions& options = {}, const GgufLog& log = {});

// A Hugging Face model folder (no adapter) as DIR/model.gguf: the base that
// a GGUF adapter is applied to.
GgufExportReport convert_model_to_gguf(const std::string& model_dir, const std::string& out_dir,
                                       const GgufExportOptions& options = {}, const GgufLog& log = {});

}  // namespace droplora::exports
