// Learning-rate schedules, as transformers' get_*_schedule_with_warmup:
// linear warmup from 0 over `warmup` steps, then
//   linear    peak · (total − step) / (total − warmup)      → 0 at the end
//   cosine    peak · ½(1 + cos(π · progress))               → 0 at the end
//   constant  peak
// `step` is the 0-based index of the optimizer step about to be taken.
#pragma once

#include <cstdint>
#include <string>

namespace droplora::train {

double learning_rate(const std::string& schedule, double peak, int64_t step, int64_t warmup, int64_t total);

}  // namespace droplora::train
