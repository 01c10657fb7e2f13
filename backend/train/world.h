// Which process of a data-parallel run this is (docs/distributed.md): torchrun's
// environment contract, or a World a front end builds itself (the workbench
// trains rank 0 in-process and starts the other ranks as `droplora train`).
// Torch-free, so train/trainer.h can take one.
#pragma once

#include <string>

namespace droplora::train {

struct World {
    int rank = 0;
    int size = 1;
    int local_rank = 0;  // the rank among the processes of this machine: which GPU
    int local_size = 1;  // processes on this machine: how the CPU cores are shared
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    bool distributed() const { return size > 1; }
};

// torchrun's variables: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT. With neither RANK nor WORLD_SIZE set: one process.
// Error naming the variable for a value that is missing, not a number or out of range.
World world_from_environment();

// A loopback port nobody listens on now (the kernel's choice, bind to port 0): where a local
// launcher has rank 0 serve the rendezvous. Another program could take it before rank 0 does;
// the rendezvous's error then names MASTER_PORT. Error when no socket can be had.
int free_loopback_port();

// "rank 1 of 2: " for a distributed world, "" for one process: the prefix of a worker's messages.
std::string rank_prefix(const World& world);

}  // namespace droplora::train
