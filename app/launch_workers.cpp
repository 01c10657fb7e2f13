#include "launch_workers.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/error.h"
#include "train/world.h"

namespace droplora::app {

namespace {

std::vector<pid_t> g_workers;  // read by the signal handler

extern "C" void forward_signal(int sig) {
    for (pid_t p : g_workers)
        if (p > 0) kill(p, sig);
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                    strsignal(WTERMSIG(status)) + ")";
    return "ended";
}

}  // namespace

bool inside_distributed_launch() { return std::getenv("RANK") != nullptr; }

std::vector<std::string> strip_nproc_per_node(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--nproc-per-node") {
            ++i;
            continue;
        }
        if (args[i].rfind("--nproc-per-node=", 0) == 0) continue;
        out.push_back(args[i]);
    }
    return out;
}

int launch_local_workers(const std::string& command, int nproc, const std::vector<std::string>& worker_args) {
    if (inside_distributed_launch())
        fail("--nproc-per-node", "this process is already a worker of a distributed launch (RANK is set); drop "
                                 "--nproc-per-node when torchrun starts droplora");
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) fail("/proc/self/exe", std::string("cannot find this program to start its workers: ") + std::strerror(errno));
    exe[n] = '\0';
    const char* port_env = std::getenv("MASTER_PORT");
    const std::string port = port_env != nullptr && *port_env != '\0' ? port_env : std::to_string(train::free_loopback_port());
    // On the CPU the workers share the cores; OMP_NUM_THREADS set by the person wins.
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const std::string threads = std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc)));

    std::vector<std::string> argv_strings = {exe, command};
    argv_strings.insert(argv_strings.end(), worker_args.begin(), worker_args.end());
    std::vector<char*> child_argv;
    for (auto& a : argv_strings) child_argv.push_back(a.data());
    child_argv.push_back(nullptr);

    g_workers.assign(static_cast<size_t>(nproc), 0);
    std::signal(SIGINT, forward_signal);   // a terminal's Ctrl-C reaches the workers anyway; a kill does not
    std::signal(SIGTERM, forward_signal);
    for (int rank = 0; rank < nproc; ++rank) {
        const pid_t pid = fork();
        if (pid < 0) {
            forward_signal(SIGKILL);
            fail("--nproc-per-node", std::string("cannot start worker ") + std::to_string(rank) + ": " + std::strerror(errno));
        }
        if (pid == 0) {
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);
            setenv("RANK", std::to_string(rank).c_str(), 1);
            setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
            setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
            setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
            setenv("MASTER_ADDR", "127.0.0.1", 1);
            setenv("MASTER_PORT", port.c_str(), 1);
            setenv("OMP_NUM_THREADS", threads.c_str(), 0);
            if (rank > 0) {  // rank 0 reports progress; the others' errors still reach stderr
                const int null_fd = open("/dev/null", O_WRONLY);
                if (null_fd >= 0) dup2(null_fd, STDOUT_FILENO);
            }
            execv(exe, child_argv.data());
            std::fprintf(stderr, "droplora %s: error: cannot start worker %d (%s): %s\n", command.c_str(), rank, exe,
                         std::strerror(errno));
            std::_Exit(127);
        }
        g_workers[static_cast<size_t>(rank)] = pid;
    }

    int first_failed = -1, first_status = 0, alive = nproc;
    bool all_stopped = true;
    std::chrono::steady_clock::time_point deadline{};
    while (alive > 0) {
        int status = 0;
        const pid_t pid = first_failed < 0 ? waitpid(-1, &status, 0) : waitpid(-1, &status, WNOHANG);
        if (pid == 0) {  // a worker failed; the others are given time to notice, then stopped
            if (std::chrono::steady_clock::now() > deadline) {
                forward_signal(SIGKILL);
                deadline = std::chrono::steady_clock::time_point::max();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        const auto it = std::find(g_workers.begin(), g_workers.end(), pid);
        if (it == g_workers.end()) continue;
        const int rank = static_cast<int>(it - g_workers.begin());
        *it = 0;
        --alive;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        const bool stopped = WIFEXITED(status) && WEXITSTATUS(status) == 130;
        if (!stopped) all_stopped = false;
        if (!ok && !stopped && first_failed < 0) {
            first_failed = rank;
            first_status = status;
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        }
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    g_workers.clear();
    if (first_failed >= 0)
        fail("--nproc-per-node " + std::to_string(nproc),
             "rank " + std::to_string(first_failed) + " of " + std::to_string(nproc) + " " + describe_status(first_status) +
                 ", so the run stopped on every rank (the workers' messages are above; the run folder keeps the last "
                 "checkpoint, and --resume with the same --nproc-per-node continues from it)");
    return all_stopped ? 130 : 0;
}

}  // namespace droplora::app
