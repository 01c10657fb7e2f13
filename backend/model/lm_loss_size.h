// How much of the loss's logits exist at once (model/lm_loss.h), torch-free so
// that the memory estimate (train/footprint.h) counts the same chunk.
#pragma once

#include <cstdint>

namespace droplora::model {

// fp32 logits of one chunk: 16 MiB, under the allocator's 32 MiB mmap threshold
// (train/resources.h, keep_freed_memory), so chunks reuse the heap.
constexpr int64_t kLossChunkElements = int64_t{4} << 20;

}  // namespace droplora::model
