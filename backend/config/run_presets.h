// Named starting points for a run, offered by the workbench's Training tab:
// each sets a few settings of a RunConfig and leaves the others (model, data,
// output) as they are. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "config/run_config.h"

namespace droplora::config {

struct RunPreset {
    std::string name;         // "Paper's settings"
    std::string description;  // one line: what it sets and why
    void (*apply)(RunConfig&);
};

// In the order the workbench lists them.
const std::vector<RunPreset>& run_presets();

}  // namespace droplora::config
