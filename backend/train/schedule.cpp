#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace droplora::train {

double learning_rate(const std::string& schedule, double peak, int64_t step, int64_t warmup, int64_t total) {
    if (step < warmup) return peak * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
    if (schedule == "constant") return peak;
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
    if (schedule == "linear") return peak * std::max(0.0, 1.0 - progress);
    if (schedule == "cosine") return peak * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress))));
    fail("train.schedule", "'" + schedule + "' is not linear, cosine or constant");
}

}  // namespace droplora::train
