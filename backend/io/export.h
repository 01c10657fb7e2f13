// Exports of a trained adapter, each verified by loading it back and comparing
// with the in-memory model on a held-out batch. Torch-free surface.
#pragma once

#include <functional>
#include <string>

namespace droplora::io {

enum class ExportFormat { Peft, Merged };

struct ExportReport {
    std::string out_dir;
    double reference_loss = 0;  // in-memory model (base + adapter, no mask)
    double exported_loss = 0;   // the export loaded back
    double relative_diff = 0;
    int64_t tokens = 0;
    bool verified = false;      // relative_diff ≤ 1e-4 (fp32)
    std::string summary;        // one line for logs and dialogs
};

// `source` is a run folder (its latest checkpoint) or a checkpoint folder.
ExportReport export_adapter(const std::string& source, ExportFormat format, const std::string& out_dir,
                            const std::function<void(const std::string&)>& log = {});

}  // namespace droplora::io
