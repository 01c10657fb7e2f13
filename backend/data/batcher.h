// Batches of tokenized examples as tensors (LibTorch).
//
// Batcher: the training stream. Each epoch visits every example once in an
// order shuffled by shuffled_indices(n, seed + epoch), so the stream depends
// only on (examples, seed) and can be resumed exactly from a BatcherState
// saved in a checkpoint. The last batch of an epoch may be short: an epoch's
// examples never mix with the next epoch's.
// EvalBatches: a fixed list in its own order, for validation.
//
// Padding is on the right to the longest example of the batch.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace droplora::data {

struct Batch {
    at::Tensor input_ids;       // [B, T] int64, padding = pad id
    at::Tensor attention_mask;  // [B, T] int64, 1 on tokens, 0 on padding
    at::Tensor labels;          // [B, T] int64, kIgnoreIndex on padding and uncounted tokens
    // Targets the shifted loss uses: labels[:, 1:] != kIgnoreIndex. Summed over
    // micro-batches it is the denominator of a gradient-accumulated mean.
    int64_t counted_tokens = 0;
    int64_t epoch = 0;  // the epoch these examples come from (0-based)
};

// Pads one batch. `examples` must not be empty and none may be empty.
Batch collate(const std::vector<const Example*>& examples, int64_t pad_id);

// The tokenizer's pad id, or 0 when it has none (LLaMA); padding is masked anyway.
int64_t padding_id(const Tokenizer& tok);

// Where the training stream stands: enough to resume it exactly.
struct BatcherState {
    int64_t epoch = 0;
    int64_t position = 0;      // examples of this epoch already handed out
    int64_t num_examples = 0;  // the dataset size it was saved with (checked on restore)
    // Content hash of the examples (their ids and labels, in order), so a resume
    // with other data of the same size is refused; empty in older checkpoints.
    std::string data_hash;
};

class Batcher {
public:
    // Throws Error when `examples` is empty.
    Batcher(std::vector<Example> examples, uint64_t seed, int64_t pad_id);

    // The next batch_size examples of the current epoch (fewer at its end).
    Batch next_batch(int64_t batch_size);

    BatcherState state() const;
    // Throws Error when the state does not fit this dataset.
    void restore(const BatcherState& state);

    // epoch + position / size, e.g. 1.25 a quarter into the second epoch.
    double epoch_progress() const;
    int64_t size() const { return static_cast<int64_t>(examples_.size()); }
    const std::string& data_hash() const { return data_hash_; }
    int64_t batches_per_epoch(int64_t batch_size) const;

private:
    void start_epoch(int64_t epoch);

    std::vector<Example> examples_;
    uint64_t seed_;
    int64_t pad_id_;
    int64_t epoch_ = 0;
    int64_t position_ = 0;
    std::vector<size_t> order_;  // this epoch's permutation
    std::string data_hash_;      // of examples_, see BatcherState::data_hash
};

class EvalBatches {
public:
    EvalBatches(std::vector<Example> examples, int64_t pad_id);

    // Fills `out` with the next batch in list order; false once the list is done.
    bool next(int64_t batch_size, Batch* out);
    void reset() { position_ = 0; }
    int64_t size() const { return static_cast<int64_t>(examples_.size()); }

private:
    std::vector<Example> examples_;
    int64_t pad_id_;
    int64_t position_ = 0;
};

}  // namespace droplora::data
