#include "train/resources.h"

#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <dlfcn.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && defined(DROPLORA_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#define DROPLORA_HAVE_CUDA_STATS 1
#endif

namespace droplora::train {

std::string describe_device(const c10::Device& device, c10::ScalarType dtype) {
    std::string s = "device " + device.str() + ", weights " + c10::toString(dtype);
    if (device.is_cpu()) s += ", " + std::to_string(at::get_num_threads()) + " threads, " + describe_blas();
    return s;
}

double device_memory_mb(const c10::Device& device) {
#ifdef DROPLORA_HAVE_CUDA_STATS
    if (device.is_cuda()) {
        auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
        return static_cast<double>(
                   stats.allocated_bytes[static_cast<size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE)]
                       .peak) /
               (1024.0 * 1024.0);
    }
#endif
    (void)device;
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0, pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

void keep_freed_memory() {
#ifdef __GLIBC__
    static const bool done = [] {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows; also stops its dynamic threshold
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_TOP_PAD, 64 << 20);
        return true;
    }();
    (void)done;
#endif
}

double peak_memory_mb(const c10::Device& device) {
    if (device.is_cuda()) return device_memory_mb(device);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

namespace {

// OpenBLAS's own query, found at run time so that any BLAS (or none) links:
// 0 sequential, 1 pthreads, 2 OpenMP; -1 when the BLAS is not OpenBLAS.
int openblas_parallel_mode() {
    using GetParallel = int (*)();
    auto get = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    return get ? get() : -1;
}

}  // namespace

std::string describe_blas() {
    switch (openblas_parallel_mode()) {
        case 0:
            return "OpenBLAS (sequential)";
        case 1:
            return "OpenBLAS (pthreads)";
        case 2:
            return "OpenBLAS (openmp)";
        default:
            return "BLAS not OpenBLAS";
    }
}

void use_all_cores() {
    if (std::getenv("OMP_NUM_THREADS")) return;
    const unsigned n = std::thread::hardware_concurrency();
    if (openblas_parallel_mode() == 1) {
        // Matrix products dominate the step; let OpenBLAS's pool have the cores.
        at::set_num_threads(1);
        return;
    }
    if (n > 1 && at::get_num_threads() < static_cast<int>(n)) at::set_num_threads(static_cast<int>(n));
}

void use_share_of_cores(int processes) {
    if (processes <= 1 || std::getenv("OMP_NUM_THREADS")) return;
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    at::set_num_threads(static_cast<int>(std::max(1u, n / static_cast<unsigned>(processes))));
}

}  // namespace droplora::train
