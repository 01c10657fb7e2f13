// Telling a training that has gone wrong from one that is merely slow.
//
// Non-finite values are caught where they appear (the trainer stops at a NaN
// or Inf loss or gradient norm). This watches the finite failures, which
// otherwise end as "finished" with a useless adapter:
//   stuck     the loss sits at ln(vocab) — the model predicts a uniform
//             distribution — with a zero gradient norm for `window` steps
//             (typical of an absurd learning rate that saturated everything);
//   growing   the loss stays above `growth` × the lowest loss seen so far for
//             `window` steps, after at least `window` steps of history.
// Torch-free; the trainer feeds it one (loss, grad norm) pair per step.
#pragma once

#include <cstdint>
#include <string>

namespace droplora::train {

class DivergenceMonitor {
public:
    DivergenceMonitor(int64_t vocab_size, int64_t window = 20, double growth = 3.0);

    // Returns a one-line description the first time the run is judged
    // divergent (then "" again until it recovers and diverges anew).
    std::string observe(int64_t step, double loss, double grad_norm);

private:
    double uniform_loss_;
    int64_t window_;
    double growth_;
    double best_ = 0;
    int64_t seen_ = 0, stuck_run_ = 0, growing_run_ = 0;
    bool reported_ = false;
};

}  // namespace droplora::train
