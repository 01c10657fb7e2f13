// Precompiled header for droplora_core: LibTorch costs ~45 s per translation
// unit on two cores when parsed afresh (docs/architecture.md, "Hazards").
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
