#include "train/run_folder.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "io/safetensors.h"

namespace droplora::run_folder {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::string join(const std::string& dir, const std::string& name) { return (stdfs::path(dir) / name).string(); }
std::string config_path(const std::string& run_dir) { return join(run_dir, kConfig); }
std::string metrics_path(const std::string& run_dir) { return join(run_dir, kMetrics); }
std::string adapter_dir(const std::string& run_dir) { return join(run_dir, kAdapter); }
std::string checkpoints_dir(const std::string& run_dir) { return join(run_dir, kCheckpoints); }

std::string checkpoint_dir(const std::string& run_dir, int64_t step) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
    return join(checkpoints_dir(run_dir), buf);
}

namespace {

bool exists(const std::string& p) {
    std::error_code ec;
    return stdfs::exists(p, ec);
}

// "step-00000042" -> 42; anything else (step-42.tmp, step-x) -> nullopt.
std::optional<int64_t> step_of(const std::string& name) {
    if (name.size() <= 5 || name.compare(0, 5, "step-") != 0) return std::nullopt;
    int64_t step = 0;
    for (size_t i = 5; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9' || i > 5 + 17) return std::nullopt;
        step = step * 10 + (name[i] - '0');
    }
    return step;
}

// A torch::save archive is a zip file: a whole one ends with its
// end-of-central-directory record (PK\5\6) within the last 64 KiB + 22 bytes.
std::string zip_problem(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return "cannot open: " + files::errno_text();
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    const long tail = std::min<long>(size, 65536 + 22);
    std::string buf(static_cast<size_t>(std::max<long>(tail, 0)), '\0');
    std::fseek(f, size - tail, SEEK_SET);
    const size_t got = std::fread(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    if (size < 22 || got != buf.size()) return "truncated (" + std::to_string(size) + " bytes)";
    if (buf.compare(0, 2, "PK") != 0 && size == tail) return "not a torch archive";
    for (size_t i = buf.size() - 22 + 1; i-- > 0;)
        if (buf[i] == 'P' && buf[i + 1] == 'K' && buf[i + 2] == 5 && buf[i + 3] == 6) return "";
    return "truncated (no end of archive)";
}

std::string safetensors_problem(const std::string& path) {
    if (!exists(path)) return "missing";
    try {
        io::SafetensorsFile::open(path);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

bool is_run_folder(const std::string& dir) { return exists(config_path(dir)) || exists(metrics_path(dir)); }

bool holds_training(const std::string& dir) { return exists(metrics_path(dir)) || exists(checkpoints_dir(dir)); }

bool is_checkpoint_folder(const std::string& dir) { return exists(join(dir, kTrainerState)); }

void write_scores(const std::string& run_dir, const HeldOutScores& s) {
    json j = {{"data", s.data},         {"loss", s.loss},       {"perplexity", s.perplexity},
              {"exact_match", s.exact_match}, {"matched", s.matched}, {"examples", s.examples}};
    if (s.has_base) j["base"] = {{"exact_match", s.base_exact_match}, {"matched", s.base_matched}};
    files::write_file_atomic(join(run_dir, kScores), j.dump(2) + "\n");
}

std::optional<HeldOutScores> read_scores(const std::string& run_dir) {
    const std::string path = join(run_dir, kScores);
    std::error_code ec;
    if (!stdfs::is_regular_file(path, ec)) return std::nullopt;
    try {
        const json j = json::parse(files::read_file(path, 1 << 20));
        HeldOutScores s;
        s.data = j.at("data").get<std::string>();
        s.loss = j.at("loss").get<double>();
        s.perplexity = j.at("perplexity").get<double>();
        s.exact_match = j.at("exact_match").get<double>();
        s.matched = j.at("matched").get<int64_t>();
        s.examples = j.at("examples").get<int64_t>();
        if (j.contains("base")) {
            s.has_base = true;
            s.base_exact_match = j.at("base").at("exact_match").get<double>();
            s.base_matched = j.at("base").at("matched").get<int64_t>();
        }
        return s;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void forget_scores(const std::string& run_dir) {
    std::error_code ec;
    stdfs::remove(join(run_dir, kScores), ec);
}

bool is_adapter_folder(const std::string& dir) {
    return exists(join(dir, "adapter_config.json")) && exists(join(dir, "adapter_model.safetensors"));
}

std::vector<Checkpoint> list_checkpoints(const std::string& run_dir) {
    std::vector<Checkpoint> out;
    std::error_code ec;
    const std::string root = checkpoints_dir(run_dir);
    if (!stdfs::is_directory(root, ec)) return out;
    for (const auto& e : stdfs::directory_iterator(root, ec)) {
        const auto step = step_of(e.path().filename().string());
        if (!step || !e.is_directory(ec)) continue;
        const std::string dir = e.path().string();
        bool whole = true;
        for (const char* f : {kTrainable, kOptimizer, kRng, kTrainerState, kConfig}) whole = whole && exists(join(dir, f));
        if (whole) out.push_back({dir, *step});
    }
    std::sort(out.begin(), out.end(), [](const Checkpoint& a, const Checkpoint& b) { return a.step < b.step; });
    return out;
}

std::string checkpoint_problem(const std::string& dir) {
    for (const char* f : {kTrainable, kRng}) {
        const std::string why = safetensors_problem(join(dir, f));
        if (!why.empty()) return join(dir, f) + ": " + why;
    }
    if (!exists(join(dir, kOptimizer))) return join(dir, kOptimizer) + ": missing";
    if (const std::string why = zip_problem(join(dir, kOptimizer)); !why.empty())
        return join(dir, kOptimizer) + ": " + why;
    const std::string state_path = join(dir, kTrainerState);
    try {
        const json j = json::parse(files::read_file(state_path, 1 << 20), nullptr, false);
        if (j.is_discarded() || !j.is_object()) return state_path + ": not valid JSON";
        for (const char* k : {"step", "epoch", "position", "num_examples"})
            if (!j.contains(k) || !j[k].is_number_integer()) return state_path + ": missing or wrong field '" + k + "'";
    } catch (const std::exception& e) {
        return e.what();
    }
    config::RunConfig cfg;
    try {
        cfg = config::load_run_config(join(dir, kConfig));
    } catch (const std::exception& e) {
        return e.what();
    }
    if (cfg.adapter.method != "full") {
        const std::string adapter = join(dir, kAdapter);
        if (!is_adapter_folder(adapter)) return adapter + ": missing or incomplete";
        const std::string why = safetensors_problem(join(adapter, "adapter_model.safetensors"));
        if (!why.empty()) return join(adapter, "adapter_model.safetensors") + ": " + why;
    }
    return "";
}

int64_t checkpoint_world_size(const std::string& dir) {
    try {
        const json j = json::parse(files::read_file(join(dir, kTrainerState), 1 << 20), nullptr, false);
        if (j.is_object() && j.contains("world_size") && j["world_size"].is_number_integer())
            return std::max<int64_t>(1, j["world_size"].get<int64_t>());
    } catch (const std::exception&) {
    }
    return 1;
}

Checkpoint newest_good_checkpoint(const std::string& run_dir, std::vector<std::string>* skipped) {
    auto all = list_checkpoints(run_dir);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const std::string why = checkpoint_problem(it->dir);
        if (why.empty()) return *it;
        if (skipped) skipped->push_back(why);
    }
    return {};
}

namespace {

// The final name a temporary of ours stands for, or "" when `name` is not one:
// "<final>.tmp-<pid>" and "<final>.tmp-<pid>-<n>" (files::AtomicFile and
// files::StagingFolder), and the "<final>.tmp" of earlier versions. Only such
// names are ever removed as leftovers.
std::string final_name_of_temp(const std::string& name) {
    const std::size_t at = name.rfind(".tmp");
    if (at == std::string::npos || at == 0) return "";
    const std::string rest = name.substr(at + 4);
    if (rest.empty()) return name.substr(0, at);
    // "-<digits>" once or twice
    std::size_t i = 0;
    for (int part = 0; part < 2 && i < rest.size(); ++part) {
        if (rest[i] != '-' || i + 1 >= rest.size() || !std::isdigit(static_cast<unsigned char>(rest[i + 1]))) return "";
        ++i;
        while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    }
    return i == rest.size() ? name.substr(0, at) : "";
}

}  // namespace

std::vector<std::string> clean_leftovers(const std::string& run_dir) {
    std::vector<std::string> removed;
    std::error_code ec;
    const std::string root = checkpoints_dir(run_dir);
    if (stdfs::is_directory(root, ec)) {
        for (const auto& e : stdfs::directory_iterator(root, ec)) {
            const std::string name = e.path().filename().string();
            if (name.rfind("step-", 0) != 0 || !e.is_directory(ec)) continue;
            if (!final_name_of_temp(name).empty() || stdfs::is_empty(e.path(), ec)) {
                stdfs::remove_all(e.path(), ec);
                removed.push_back(e.path().string());
            }
        }
    }
    for (const auto& e : stdfs::directory_iterator(run_dir, ec)) {
        const std::string name = e.path().filename().string();
        const std::string final_name = final_name_of_temp(name);
        if (final_name.empty()) continue;
        if (e.is_regular_file(ec) && name.find(".tmp-") != std::string::npos) {  // an AtomicFile's (config.yaml.tmp-<pid>)
            stdfs::remove(e.path(), ec);
            removed.push_back(e.path().string());
        } else if (e.is_directory(ec) && final_name == kAdapter) {  // the final adapter's staging folder
            stdfs::remove_all(e.path(), ec);
            removed.push_back(e.path().string());
        }
    }
    return removed;
}

Lock::Lock(const std::string& run_dir, const std::string& purpose) : path_(join(run_dir, kLock)) {
    std::error_code ec;
    stdfs::create_directories(run_dir, ec);
    if (ec) fail(run_dir, "cannot create the run folder: " + ec.message());
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(run_dir, "cannot create its lock file " + std::string(kLock) + ": " + files::errno_text());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        std::string holder;
        char buf[512] = {};
        const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        if (n > 0) holder.assign(buf, static_cast<size_t>(n));
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
            fail(run_dir, "is in use by another process (" + (holder.empty() ? std::string("unknown") : holder) +
                              "); wait for it to finish or choose another output folder");
        fail(run_dir, "cannot lock: " + files::errno_text(err));
    }
    // Ours now; a holder that died left only a stale record, which we overwrite.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string record =
        "pid " + std::to_string(::getpid()) + " on " + std::string(host) + ", " + purpose + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, record.data(), record.size(), 0) < 0) {
        // The lock itself holds; only the record for others is missing.
    }
}

Lock::~Lock() {
    if (fd_ < 0) return;
    if (::ftruncate(fd_, 0) != 0) {
    }
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
}

OpenedRun open_run(const std::string& run_dir) {
    OpenedRun r;
    r.dir = run_dir;
    if (exists(config_path(run_dir))) {
        try {
            r.config = config::load_run_config(config_path(run_dir));
        } catch (const std::exception& e) {
            r.config_error = e.what();
        }
    }
    if (exists(metrics_path(run_dir))) r.history = train::read_metrics(metrics_path(run_dir));
    r.checkpoints = list_checkpoints(run_dir);
    r.has_adapter = is_adapter_folder(adapter_dir(run_dir));
    return r;
}

std::string newest_adapter(const std::string& run_dir, bool running) {
    if (run_dir.empty()) return {};
    // A folder reused for a new run may still hold the previous run's adapter/.
    if (!running && is_adapter_folder(adapter_dir(run_dir))) return adapter_dir(run_dir);
    // Only the adapter matters here, so a checkpoint whose adapter/ is whole counts
    // even while its other files are still being written.
    std::error_code ec;
    int64_t best = -1;
    std::string found;
    if (!stdfs::is_directory(checkpoints_dir(run_dir), ec)) return {};
    for (const auto& e : stdfs::directory_iterator(checkpoints_dir(run_dir), ec)) {
        const auto step = step_of(e.path().filename().string());
        const std::string adapter = join(e.path().string(), kAdapter);
        if (step && *step > best && is_adapter_folder(adapter)) {
            best = *step;
            found = adapter;
        }
    }
    return found;
}

}  // namespace droplora::run_folder
