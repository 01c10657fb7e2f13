// Data-parallel training over LibTorch's torch.distributed engine (c10d;
// docs/distributed.md): torchrun's environment contract, the process group of
// a run, and the collectives one optimizer step needs. Rank 0 serves the
// rendezvous store (a c10d TCPStore at MASTER_ADDR:MASTER_PORT).
//
// Every failure is an Error naming the rank and what it waited for: a port in
// use, a master that does not answer, a rank that died (noticed at once: its
// sockets close) or hung (noticed after distributed.timeout_s).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "train/world.h"

namespace droplora::train {

// The device a rank trains on: "auto" or "cuda" with several processes and CUDA present is
// "cuda:LOCAL_RANK" (one GPU per process of a machine); anything else as given.
std::string device_for_rank(const World& world, const std::string& device);

class ProcessGroup {
public:
    // Rendezvous and a Gloo group (NCCL where the build has it and `backend`
    // asks for it or is auto on CUDA). `timeout` bounds the rendezvous and
    // every collective. While rank 0 waits for the others to join, it asks
    // `cancelled` ten times a second and gives up with an Error when it says
    // yes (the workbench: a worker it started has already failed, or Stop).
    ProcessGroup(const World& world, const std::string& backend, const std::string& device, std::chrono::seconds timeout,
                 const std::function<bool()>& cancelled = {});
    ~ProcessGroup();
    ProcessGroup(const ProcessGroup&) = delete;
    ProcessGroup& operator=(const ProcessGroup&) = delete;

    const World& world() const;
    // "gloo" or "nccl".
    const std::string& backend() const;

    // In place, the sum over ranks. The tensors are packed into one buffer per
    // dtype and device, so a step's gradients are one collective. `what` names
    // the collective in an error ("the gradients of step 12").
    void all_reduce_sum(const std::vector<at::Tensor>& tensors, const std::string& what);
    // In place, rank 0's values on every rank.
    void broadcast(const std::vector<at::Tensor>& tensors, const std::string& what);
    // Compares every rank's `value` with rank 0's through the store; on a
    // difference every rank throws an Error naming the ranks that differ.
    void require_same(const std::string& key, const std::string& value, const std::string& what);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace droplora::train
