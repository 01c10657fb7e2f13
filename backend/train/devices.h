// Which compute devices this build can train on, as RunConfig::device strings.
// Torch-free surface: the GUI's device combo asks here without including torch.
#pragma once

#include <string>
#include <vector>

namespace droplora::train {

// "auto" and "cpu" first, then "cuda:0" .. "cuda:N-1" for every visible CUDA
// device (none on a CPU-only LibTorch build or a machine without a GPU).
std::vector<std::string> available_devices();

}  // namespace droplora::train
