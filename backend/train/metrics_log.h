// metrics.jsonl: one JSON object per line, appended as the run goes.
//   {"kind": "train", "step", "loss", "lr", "grad_norm", "epoch", "tokens", "tokens_per_sec", "elapsed_s"}
//   {"kind": "eval",  "step", "loss", "perplexity", "tokens"}
//   {"kind": "stats", "step", "modules": [{"module", "keep_fraction", "energy", "grad_norm",
//                                          "singular_values", "effective_rank", "drift_prev", "drift_first"}]}
// The GUI rebuilds a past run's plots from it. Torch-free.
#pragma once

#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "train/observer.h"

namespace droplora::files {
class AppendFile;
}

namespace droplora::train {

class MetricsLog {
public:
    // Opens for appending; on resume, rows after `keep_until_step` (written
    // after the checkpoint being resumed) are dropped first.
    MetricsLog(const std::string& path, int64_t keep_until_step = -1);
    ~MetricsLog();
    MetricsLog(const MetricsLog&) = delete;
    MetricsLog& operator=(const MetricsLog&) = delete;

    void write(const StepMetrics& m);
    void write(const EvalMetrics& m);
    void write(const StatsSample& s);
    // {"kind": "note", "step", "text"}: what changed in the run's history (a resume with new settings).
    void write_note(int64_t step, const std::string& text);  // each write throws Error when the line cannot be written

private:
    void append(const std::string& line);
    std::string path_;
    std::unique_ptr<files::AppendFile> file_;
};

struct MetricsHistory {
    std::vector<StepMetrics> steps;
    std::vector<EvalMetrics> evals;
    std::vector<StatsSample> stats;
    std::vector<std::pair<int64_t, std::string>> notes;  // (step, text)
    int64_t bad_lines = 0;  // unparsable lines (e.g. a torn last line) are skipped and counted
};

MetricsHistory read_metrics(const std::string& path);

}  // namespace droplora::train
