// What the run reports about the machine: the device in words and its memory use.
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace droplora::train {

std::string describe_device(const c10::Device& device, c10::ScalarType dtype);
// Peak allocated CUDA memory on a GPU; the process's resident set on the CPU. MiB.
double device_memory_mb(const c10::Device& device);
// Uses every core for CPU math unless OMP_NUM_THREADS says otherwise (Debian's
// LibTorch otherwise starts with one thread on some machines).
void use_all_cores();

}  // namespace droplora::train
