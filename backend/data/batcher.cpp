#include "data/batcher.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "data/tokenizer.h"

namespace droplora::data {
namespace {

void check_batch_size(int64_t batch_size) {
    if (batch_size < 1) fail("batch_size", "must be at least 1, not " + std::to_string(batch_size));
}

// 64-bit FNV-1a over the examples' lengths, ids and labels (each value mixed
// by splitmix64 first), as "fnv1a64:<16 hex digits>".
std::string examples_hash(const std::vector<Example>& examples) {
    uint64_t h = 1469598103934665603ull;
    const auto add = [&h](uint64_t v) {
        v += 0x9e3779b97f4a7c15ull;
        v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
        v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
        h = (h ^ (v ^ (v >> 31))) * 1099511628211ull;
    };
    for (const Example& ex : examples) {
        add(ex.input_ids.size());
        for (int64_t id : ex.input_ids) add(static_cast<uint64_t>(id));
        for (int64_t l : ex.labels) add(static_cast<uint64_t>(l));
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace

Batch collate(const std::vector<const Example*>& examples, int64_t pad_id) {
    if (examples.empty()) fail("collate", "empty batch");
    int64_t longest = 0;
    for (const Example* ex : examples) {
        if (ex->input_ids.empty() || ex->input_ids.size() != ex->labels.size()) {
            fail(ex->source, "example has " + std::to_string(ex->input_ids.size()) + " ids and " +
                                 std::to_string(ex->labels.size()) + " labels");
        }
        longest = std::max<int64_t>(longest, static_cast<int64_t>(ex->input_ids.size()));
    }
    const int64_t rows = static_cast<int64_t>(examples.size());
    const auto opts = at::TensorOptions().dtype(at::kLong);
    Batch b;
    b.input_ids = at::full({rows, longest}, pad_id, opts);     // [B, T]
    b.attention_mask = at::zeros({rows, longest}, opts);       // [B, T]
    b.labels = at::full({rows, longest}, kIgnoreIndex, opts);  // [B, T]
    int64_t* ids = b.input_ids.data_ptr<int64_t>();
    int64_t* mask = b.attention_mask.data_ptr<int64_t>();
    int64_t* labels = b.labels.data_ptr<int64_t>();
    for (int64_t r = 0; r < rows; ++r) {
        const Example& ex = *examples[static_cast<size_t>(r)];
        const int64_t len = static_cast<int64_t>(ex.input_ids.size());
        std::copy(ex.input_ids.begin(), ex.input_ids.end(), ids + r * longest);
        std::copy(ex.labels.begin(), ex.labels.end(), labels + r * longest);
        std::fill(mask + r * longest, mask + r * longest + len, int64_t{1});
        b.counted_tokens +=
            std::count_if(ex.labels.begin() + 1, ex.labels.end(), [](int64_t l) { return l != kIgnoreIndex; });
    }
    return b;
}

int64_t padding_id(const Tokenizer& tok) {
    return tok.pad_id() >= 0 ? tok.pad_id() : 0;
}

Batcher::Batcher(std::vector<Example> examples, uint64_t seed, int64_t pad_id)
    : examples_(std::move(examples)), seed_(seed), pad_id_(pad_id) {
    if (examples_.empty()) fail("training data", "no examples to batch");
    data_hash_ = examples_hash(examples_);
    start_epoch(0);
}

void Batcher::start_epoch(int64_t epoch) {
    epoch_ = epoch;
    position_ = 0;
    order_ = shuffled_indices(examples_.size(), seed_ + static_cast<uint64_t>(epoch));
}

Batch Batcher::next_batch(int64_t batch_size) {
    check_batch_size(batch_size);
    if (position_ >= size()) start_epoch(epoch_ + 1);
    const int64_t end = std::min(size(), position_ + batch_size);
    std::vector<const Example*> picked;
    picked.reserve(static_cast<size_t>(end - position_));
    for (int64_t i = position_; i < end; ++i) picked.push_back(&examples_[order_[static_cast<size_t>(i)]]);
    Batch b = collate(picked, pad_id_);
    b.epoch = epoch_;
    position_ = end;
    return b;
}

BatcherState Batcher::state() const {
    return BatcherState{epoch_, position_, size(), data_hash_};
}

void Batcher::restore(const BatcherState& state) {
    if (state.num_examples != size()) {
        fail("batcher state", "saved for " + std::to_string(state.num_examples) + " examples, but the dataset has " +
                                  std::to_string(size()) + " (was the data file changed?)");
    }
    if (!state.data_hash.empty() && state.data_hash != data_hash_) {
        fail("batcher state", "saved for other training data: same " + std::to_string(size()) +
                                  " examples, but their content hash is " + data_hash_ + ", not " + state.data_hash +
                                  " (was the data file, template, tokenizer or max_seq_len changed?)");
    }
    if (state.epoch < 0 || state.position < 0 || state.position > size()) {
        fail("batcher state", "epoch " + std::to_string(state.epoch) + ", position " + std::to_string(state.position) +
                                  " is out of range for " + std::to_string(size()) + " examples");
    }
    start_epoch(state.epoch);
    position_ = state.position;
}

double Batcher::epoch_progress() const {
    return static_cast<double>(epoch_) + static_cast<double>(position_) / static_cast<double>(size());
}

int64_t Batcher::batches_per_epoch(int64_t batch_size) const {
    check_batch_size(batch_size);
    return (size() + batch_size - 1) / batch_size;
}

EvalBatches::EvalBatches(std::vector<Example> examples, int64_t pad_id)
    : examples_(std::move(examples)), pad_id_(pad_id) {}

bool EvalBatches::next(int64_t batch_size, Batch* out) {
    check_batch_size(batch_size);
    if (position_ >= size()) return false;
    const int64_t end = std::min(size(), position_ + batch_size);
    std::vector<const Example*> picked;
    for (int64_t i = position_; i < end; ++i) picked.push_back(&examples_[static_cast<size_t>(i)]);
    *out = collate(picked, pad_id_);
    position_ = end;
    return true;
}

}  // namespace droplora::data
