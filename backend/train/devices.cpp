#include "train/devices.h"

#include <torch/cuda.h>

namespace droplora::train {

std::vector<std::string> available_devices() {
    std::vector<std::string> devices = {"auto", "cpu"};
    // device_count() is 0 on CPU-only builds and when the driver is missing; it does not throw.
    const size_t cuda = torch::cuda::device_count();
    for (size_t i = 0; i < cuda; ++i) devices.push_back("cuda:" + std::to_string(i));
    return devices;
}

}  // namespace droplora::train
