// droplora train (or bench) --nproc-per-node N: the local launcher. It starts N
// copies of this program's command with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; docs/distributed.md), shows rank
// 0's output, forwards Ctrl-C and SIGTERM, and fails as a whole: when one
// worker fails, the others get 30 seconds to notice and end by themselves
// (rank 0 keeps its last checkpoint), then they are killed.
#pragma once

#include <string>
#include <vector>

namespace droplora::app {

// `worker_args`: the command's arguments without --nproc-per-node (strip_nproc_per_node).
// Returns 0 when every worker finished, 130 when they stopped on a signal;
// throws Error naming the first worker that failed.
int launch_local_workers(const std::string& command, int nproc, const std::vector<std::string>& worker_args);

// `args` without --nproc-per-node N (or --nproc-per-node=N).
std::vector<std::string> strip_nproc_per_node(const std::vector<std::string>& args);

// True inside a worker of a distributed launch (RANK is set): such a process
// trains, it does not launch.
bool inside_distributed_launch();

}  // namespace droplora::app
