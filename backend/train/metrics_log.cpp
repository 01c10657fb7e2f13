#include "train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace droplora::train {

using nlohmann::json;

MetricsLog::MetricsLog(const std::string& path, int64_t keep_until_step) : path_(path) {
    if (keep_until_step >= 0 && std::filesystem::exists(path)) {
        // Keep only rows up to the resumed checkpoint, so the log reads as one run.
        std::ifstream in(path);
        std::string line, kept;
        while (std::getline(in, line)) {
            json j = json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.is_object()) continue;
            if (j.value("step", int64_t{0}) <= keep_until_step) kept += line + "\n";
        }
        in.close();
        files::write_file_atomic(path, kept);
    }
    file_ = std::make_unique<files::AppendFile>(path);
}

MetricsLog::~MetricsLog() = default;

void MetricsLog::append(const std::string& line) {
    file_->append_line(line);  // throws on ENOSPC/EIO: a run never goes on blind
}

void MetricsLog::write(const StepMetrics& m) {
    append(json{{"kind", "train"},
                {"step", m.step},
                {"loss", m.loss},
                {"lr", m.lr},
                {"grad_norm", m.grad_norm},
                {"epoch", m.epoch},
                {"tokens", m.tokens},
                {"tokens_per_sec", m.tokens_per_sec},
                {"elapsed_s", m.elapsed_s}}
               .dump());
}

void MetricsLog::write(const EvalMetrics& m) {
    append(json{{"kind", "eval"}, {"step", m.step}, {"loss", m.loss}, {"perplexity", m.perplexity}, {"tokens", m.tokens}}
               .dump());
}

void MetricsLog::write(const StatsSample& s) {
    json modules = json::array();
    for (const auto& m : s.modules)
        modules.push_back({{"module", m.module},
                           {"keep_fraction", m.keep_fraction},
                           {"energy", m.energy},
                           {"grad_norm", m.grad_norm},
                           {"singular_values", m.singular_values},
                           {"effective_rank", m.effective_rank},
                           {"drift_prev", m.drift_prev},
                           {"drift_first", m.drift_first}});
    append(json{{"kind", "stats"}, {"step", s.step}, {"modules", modules}}.dump());
}

void MetricsLog::write_note(int64_t step, const std::string& text) {
    append(json{{"kind", "note"}, {"step", step}, {"text", text}}.dump());
}

MetricsHistory read_metrics(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail(path, "cannot open: " + files::errno_text() + " (not a run folder?)");
    MetricsHistory h;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            ++h.bad_lines;
            continue;
        }
        try {
            const std::string kind = j.value("kind", "");
            if (kind == "train") {
                StepMetrics m;
                m.step = j.at("step").get<int64_t>();
                m.loss = j.at("loss").get<double>();
                m.lr = j.value("lr", 0.0);
                m.grad_norm = j.value("grad_norm", 0.0);
                m.epoch = j.value("epoch", 0.0);
                m.tokens = j.value("tokens", int64_t{0});
                m.tokens_per_sec = j.value("tokens_per_sec", 0.0);
                m.elapsed_s = j.value("elapsed_s", 0.0);
                h.steps.push_back(m);
            } else if (kind == "eval") {
                EvalMetrics m;
                m.step = j.at("step").get<int64_t>();
                m.loss = j.at("loss").get<double>();
                m.perplexity = j.value("perplexity", 0.0);
                m.tokens = j.value("tokens", int64_t{0});
                h.evals.push_back(m);
            } else if (kind == "stats") {
                StatsSample s;
                s.step = j.at("step").get<int64_t>();
                for (const auto& mj : j.at("modules")) {
                    ModuleStats m;
                    m.module = mj.at("module").get<std::string>();
                    m.keep_fraction = mj.at("keep_fraction").get<std::vector<double>>();
                    m.energy = mj.at("energy").get<std::vector<double>>();
                    m.grad_norm = mj.at("grad_norm").get<std::vector<double>>();
                    m.singular_values = mj.at("singular_values").get<std::vector<double>>();
                    m.effective_rank = mj.value("effective_rank", 0.0);
                    m.drift_prev = mj.value("drift_prev", 0.0);
                    m.drift_first = mj.value("drift_first", 0.0);
                    s.modules.push_back(std::move(m));
                }
                h.stats.push_back(std::move(s));
            } else if (kind == "note") {
                h.notes.emplace_back(j.value("step", int64_t{0}), j.value("text", std::string()));
            } else {
                ++h.bad_lines;
            }
        } catch (const json::exception&) {
            ++h.bad_lines;
        }
    }
    return h;
}

}  // namespace droplora::train
