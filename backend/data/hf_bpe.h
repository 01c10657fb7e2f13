// tokenizer.json "model" of type BPE (docs/tokenizers.md, "The BPE model"): the
// vocabulary, the ranked merges, ignore_merges, byte_fallback, unk_token and
// fuse_unk. A word is split into characters and the lowest-ranked adjacent pair
// is merged first (leftmost on ties), as Hugging Face's BPE does; results are
// cached per word.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace droplora::data {

class HfBpe {
public:
    // `model` is tokenizer.json's "model" object; errors name `file`.
    HfBpe(const nlohmann::json& model, const std::string& file);

    // Appends the ids of one pre-tokenized word.
    void tokenize(const std::string& word, std::vector<int32_t>& out) const;

    int32_t token_to_id(const std::string& token) const;  // −1 when absent
    // "" for an id the vocabulary skips.
    const std::string& id_to_token(int32_t id) const;
    int32_t size() const { return static_cast<int32_t>(tokens_.size()); }  // max id + 1

private:
    struct Symbol {
        int32_t id;
        int32_t prev, next;
        uint32_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
    };
    void merge_word(const std::string& word, std::vector<int32_t>& out) const;
    static uint64_t pair_key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }

    std::unordered_map<std::string, int32_t> vocab_;
    std::vector<std::string> tokens_;
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left, right) → (rank, merged id)
    int32_t unk_id_ = -1;
    bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
    std::string continuing_prefix_, end_suffix_;
    int32_t byte_ids_[256];  // <0xXX> tokens for byte_fallback, −1 when absent

    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace droplora::data
