// droplora train: a YAML run file (+ --set overrides) through the engine, with
// a one-line terminal progress bar. Ctrl-C stops between steps and leaves a
// checkpoint; a second Ctrl-C exits at once.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "cli_args.h"
#include "commands.h"
#include "launch_workers.h"
#include "common/error.h"
#include "common/install_paths.h"
#include "config/run_config.h"
#include "train/trainer.h"

namespace droplora::app {

namespace {

train::RunControl* g_control = nullptr;

extern "C" void on_interrupt(int) {
    if (g_control && !g_control->stop.load()) {
        g_control->stop.store(true);
        const char msg[] = "\nstopping after this step (Ctrl-C again to abort)...\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    } else {
        std::_Exit(130);
    }
}

std::string clock_text(double s) {
    if (!(s >= 0) || s > 1e7) return "--:--";
    const long t = static_cast<long>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
    return buf;
}

// Prints progress for people (a bar on a terminal, plain lines otherwise).
class ConsoleObserver : public train::Observer {
public:
    // `silent`: a data-parallel worker other than rank 0, whose errors alone are worth showing (on stderr).
    ConsoleObserver(bool quiet, bool silent) : tty_(isatty(STDOUT_FILENO)), quiet_(quiet || silent), silent_(silent) {}

    void on_log(const std::string& line) override {
        if (silent_) return;
        clear_bar();
        std::cout << line << std::endl;
    }
    void on_started(int64_t max_steps, int64_t start_step) override {
        if (silent_) return;
        std::cout << "training " << max_steps << " steps" << (start_step ? " from step " + std::to_string(start_step) : "")
                  << std::endl;
    }
    void on_step(const train::StepMetrics& m) override {
        if (quiet_) return;
        char line[256];
        const int width = 24;
        const int filled = m.max_steps ? static_cast<int>(width * m.step / m.max_steps) : 0;
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(width, '.');
        std::snprintf(line, sizeof line, "[%s] %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  %s elapsed  ETA %s",
                      bar.c_str(), static_cast<long long>(m.step), static_cast<long long>(m.max_steps), m.loss, m.lr,
                      m.tokens_per_sec, clock_text(m.elapsed_s).c_str(), clock_text(m.eta_s).c_str());
        if (tty_) {
            std::cout << "\r" << line << "\x1b[K" << std::flush;
            bar_shown_ = true;
        } else {
            std::cout << line << "\n";
        }
    }
    void on_eval(const train::EvalMetrics& m) override {
        if (silent_) return;
        clear_bar();
        std::printf("eval @ step %lld: loss %.4f  perplexity %.2f  (%lld tokens)\n", static_cast<long long>(m.step),
                    m.loss, m.perplexity, static_cast<long long>(m.tokens));
        std::fflush(stdout);
    }
    void on_finished(train::RunOutcome outcome, const std::string& message) override {
        if (silent_) return;
        clear_bar();
        if (outcome == train::RunOutcome::Finished) std::cout << "finished" << std::endl;
        if (outcome == train::RunOutcome::Cancelled) std::cout << "stopped" << std::endl;
        (void)message;  // printed by the caller as the command's error
    }

private:
    void clear_bar() {
        if (bar_shown_) std::cout << "\r\x1b[K";
        bar_shown_ = false;
    }
    bool tty_;
    bool quiet_;
    bool silent_;
    bool bar_shown_ = false;
};

}  // namespace

int run_train(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora train --config RUN.yaml [--set key=value ...] [--nproc-per-node N] [--quiet]\n"
                     "       droplora train --resume RUN_DIR [--set train.lr=VALUE ...] [--nproc-per-node N] [--quiet]\n"
                     "\n"
                     "Trains as RUN.yaml says (keys: docs/run-config.md); --set overrides one dotted key,\n"
                     "e.g. --set train.lr=1e-4 --set adapter.targets=[q_proj,v_proj].\n"
                     "--resume continues the run in RUN_DIR from its newest checkpoint that loads (its own\n"
                     "config.yaml); with --resume, --set may change only train.lr, train.schedule,\n"
                     "train.warmup_steps, train.max_grad_norm and train.stop_on_divergence (recorded in metrics.jsonl).\n"
                     "The run folder (output:) receives config.yaml, metrics.jsonl, checkpoints/ and adapter/.\n"
                     "Ctrl-C stops after the current step and writes a checkpoint.\n"
                     "--nproc-per-node N trains data-parallel in N processes on this machine (one per GPU; on the\n"
                     "CPU they share the cores); a step's batch is batch_size x grad_accum x N. Under torchrun\n"
                     "(torchrun --no-python ... droplora train --config RUN.yaml) each process joins from its\n"
                     "environment. See docs/distributed.md.\n";
        return 0;
    }
    Args args(argv, {"config", "resume", "nproc-per-node"}, {"quiet"}, {"set"});
    if (args.has("nproc-per-node")) {
        const long long n = args.get_int("nproc-per-node", 1);
        if (n < 1 || n > 256) fail("--nproc-per-node", std::to_string(n) + " is not a process count in [1, 256]");
        if (n > 1) return launch_local_workers("train", static_cast<int>(n), strip_nproc_per_node(argv));
    }
    config::RunConfig cfg;
    const std::string resume = args.get("resume");
    if (!resume.empty() && args.has("config"))
        fail("--resume", "continues a run with its own config.yaml; --config does not apply to it");
    if (args.has("config")) {
        cfg = config::load_run_config(args.get("config"));
        const std::string moved = common::place_run_folder(args.get("config"), cfg.output);
        if (!moved.empty()) std::cout << moved << std::endl;
    } else if (resume.empty()) {
        fail("train", "--config RUN.yaml (or --resume RUN_DIR) is required");
    }
    if (resume.empty()) {
        for (const auto& kv : args.all("set")) config::apply_override(cfg, kv);
        config::validate(cfg, args.get("config"));
    }

    train::RunControl control;
    g_control = &control;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    const char* rank_env = std::getenv("RANK");
    const bool rank0 = rank_env == nullptr || std::string(rank_env) == "0";
    ConsoleObserver observer(args.has("quiet"), !rank0);
    const auto result = train::run_training(cfg, observer, control, resume,
                                            resume.empty() ? std::vector<std::string>{} : args.all("set"));
    g_control = nullptr;
    if (result.outcome == train::RunOutcome::Failed) throw Error(result.message);
    if (!rank0) return result.outcome == train::RunOutcome::Finished ? 0 : 130;
    std::cout << "run folder: " << result.run_dir << "\n";
    if (!result.last_checkpoint.empty()) std::cout << "last checkpoint: " << result.last_checkpoint << "\n";
    return result.outcome == train::RunOutcome::Finished ? 0 : 130;
}

}  // namespace droplora::app
