// What the run reports about the machine: the device in words and its memory use.
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace droplora::train {

std::string describe_device(const c10::Device& device, c10::ScalarType dtype);
// Peak allocated CUDA memory on a GPU; the process's resident set on the CPU. MiB.
double device_memory_mb(const c10::Device& device);
// The peak so far: CUDA's peak allocated on a GPU; the process's peak resident set (ru_maxrss) on the CPU. MiB.
double peak_memory_mb(const c10::Device& device);
// Uses every core for CPU math unless OMP_NUM_THREADS says otherwise (Debian's
// LibTorch otherwise starts with one thread on some machines), and keeps
// LibTorch's and the BLAS's thread pools from competing for the same cores:
// with OpenBLAS's pthread build (its own pool of spinning threads next to
// LibTorch's OpenMP pool) LibTorch is given one thread and the matrix products
// every core, which measured 2-3x faster on two cores than both pools at full
// width. OpenBLAS's OpenMP build shares LibTorch's pool and needs nothing.
void use_all_cores();
// Keeps freed memory in the process for the next step instead of returning it
// to the system: glibc gives every block of ≥ 128 KiB its own mmap and unmaps it
// on free, so each step's activations were faulted in page by page again (a
// fifth of a 134M model's step on the project's machines). Blocks up to 32 MiB
// now come from the heap, which is trimmed only above 1 GiB free. Peak
// memory rises a few percent. Nothing on other C libraries.
void keep_freed_memory();
// The share of the cores one of `processes` processes of this machine uses
// (data-parallel training on the CPU): cores / processes threads, unless
// OMP_NUM_THREADS says otherwise. The `droplora train --nproc-per-node`
// launcher sets OMP_NUM_THREADS; this serves torchrun and the workbench.
void use_share_of_cores(int processes);
// The BLAS LibTorch calls, in words ("OpenBLAS (openmp)", "OpenBLAS (pthreads)",
// "reference BLAS or MKL"), for logs and the bench header.
std::string describe_blas();

}  // namespace droplora::train
