// Exports of a trained adapter, each verified by loading it back and comparing
// with the in-memory model on a held-out batch. Torch-free surface.
#pragma once

#include <functional>
#include <string>

namespace droplora::exports {

// Peft and Merged are Hugging Face folders; GgufModel and GgufAdapter are
// llama.cpp / Ollama files (export/gguf_export.h), reachable from here so the
// workbench exports every format through one call.
enum class ExportFormat { Peft, Merged, GgufModel, GgufAdapter };

struct ExportReport {
    std::string out_dir;
    double reference_loss = 0;  // in-memory model (base + adapter, no mask)
    double exported_loss = 0;   // the export loaded back
    double relative_diff = 0;
    int64_t tokens = 0;
    bool verified = false;      // relative_diff ≤ 1e-4 (fp32)
    std::string summary;        // one line for logs and dialogs
};

struct ExportOptions {
    // An existing `out_dir` that holds an earlier export (only an export's
    // files) is replaced; without it, any non-empty `out_dir` is refused.
    bool replace = false;
    // GgufModel: the type of every 2-D weight, f32 | f16 | bf16 | q8_0.
    std::string gguf_type = "f16";
};

// `source` is a run folder (its newest checkpoint that verifies) or a checkpoint
// folder. Never deletes what it did not create: `out_dir` may not be empty,
// the current folder, the source or a folder above it (Error otherwise). The
// export is written beside `out_dir` and moved into place whole; a failure
// leaves nothing behind. Holds the run folder's lock while it reads.
ExportReport export_adapter(const std::string& source, ExportFormat format, const std::string& out_dir,
                            const std::function<void(const std::string&)>& log = {}, const ExportOptions& options = {});

}  // namespace droplora::exports
