#include "train/divergence.h"

#include <cmath>
#include <sstream>

namespace droplora::train {

DivergenceMonitor::DivergenceMonitor(int64_t vocab_size, int64_t window, double growth)
    : uniform_loss_(std::log(static_cast<double>(vocab_size > 1 ? vocab_size : 2))), window_(window), growth_(growth) {}

std::string DivergenceMonitor::observe(int64_t step, double loss, double grad_norm) {
    ++seen_;
    best_ = seen_ == 1 ? loss : std::min(best_, loss);
    const bool stuck = grad_norm < 1e-12 && std::abs(loss - uniform_loss_) < 0.02 * uniform_loss_;
    stuck_run_ = stuck ? stuck_run_ + 1 : 0;
    const bool growing = seen_ > window_ && loss > growth_ * std::max(best_, 1e-6);
    growing_run_ = growing ? growing_run_ + 1 : 0;
    if (stuck_run_ < window_ && growing_run_ < window_) {
        reported_ = false;
        return "";
    }
    if (reported_) return "";
    reported_ = true;
    std::ostringstream s;
    s.precision(4);
    if (stuck_run_ >= window_)
        s << "the loss has been " << loss << " ≈ ln(vocab) = " << uniform_loss_ << " with a zero gradient for "
          << stuck_run_ << " steps (step " << step
          << "): the model predicts a uniform distribution; lower train.lr (e.g. by 10×) and resume from an earlier "
             "checkpoint";
    else
        s << "the loss has stayed above " << growth_ << "× its lowest value (" << best_ << ") for " << growing_run_
          << " steps (now " << loss << " at step " << step << "); lower train.lr or raise train.warmup_steps";
    return s.str();
}

}  // namespace droplora::train
