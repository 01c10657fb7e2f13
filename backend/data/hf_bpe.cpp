#include "data/hf_bpe.h"

#include <cstdio>
#include <queue>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/hf_json.h"
#include "data/unicode_text.h"

namespace droplora::data {
namespace {

using nlohmann::json;

constexpr std::size_t kCacheCapacity = 200000;  // words; past it, results are no longer stored
constexpr std::size_t kCachedWordBytes = 256;   // longer words are not cached

struct Merge {
    int32_t pos, rank, new_id;
    bool operator<(const Merge& o) const {  // std::priority_queue pops the greatest: lowest rank, then leftmost
        return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
};

}  // namespace

HfBpe::HfBpe(const json& model, const std::string& file) {
    const std::string c = "model BPE";
    if (auto d = model.find("dropout"); d != model.end() && !d->is_null() && !(d->is_number() && d->get<double>() == 0))
        fail(file, c + ": dropout " + d->dump() + " is not supported (tokenization would be random)");
    fuse_unk_ = hf_json::bool_at(model, "fuse_unk", false, file, c);
    byte_fallback_ = hf_json::bool_at(model, "byte_fallback", false, file, c);
    ignore_merges_ = hf_json::bool_at(model, "ignore_merges", false, file, c);
    continuing_prefix_ = hf_json::optional_string_at(model, "continuing_subword_prefix", file, c);
    end_suffix_ = hf_json::optional_string_at(model, "end_of_word_suffix", file, c);

    auto v = model.find("vocab");
    if (v == model.end() || !v->is_object()) fail(file, c + ": \"vocab\" must be an object of token → id");
    vocab_.reserve(v->size());
    int32_t max_id = -1;
    for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > INT32_MAX)
            fail(file, c + ": vocab id of '" + it.key() + "' must be a non-negative integer");
        if (it.key().empty()) fail(file, c + ": the vocab has an empty token (id " + std::to_string(it->get<int64_t>()) + ")");
        const auto id = static_cast<int32_t>(it->get<int64_t>());
        vocab_.emplace(it.key(), id);
        max_id = std::max(max_id, id);
    }
    tokens_.assign(static_cast<std::size_t>(max_id + 1), std::string());
    for (const auto& [tok, id] : vocab_) {
        // One id, one token: with two, ids would decode to either (a fuzz finding; real files never do this).
        std::string& slot = tokens_[static_cast<std::size_t>(id)];
        if (!slot.empty())
            fail(file, c + ": vocab id " + std::to_string(id) + " is given to two tokens, '" + std::min(slot, tok) +
                           "' and '" + std::max(slot, tok) + "'");
        slot = tok;
    }

    if (const std::string unk = hf_json::optional_string_at(model, "unk_token", file, c); !unk.empty()) {
        unk_id_ = token_to_id(unk);
        if (unk_id_ < 0) fail(file, c + ": unk_token '" + unk + "' is not in the vocabulary");
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = token_to_id(name);
    }

    const json& merges = hf_json::array_at(model, "merges", file, c);
    merges_.reserve(merges.size());
    int32_t rank = 0;
    for (const auto& m : merges) {
        std::string a, b;
        if (m.is_string()) {
            // The older "left right" form: one space between the two tokens.
            const std::string& s = m.get_ref<const std::string&>();
            const auto sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                fail(file, c + ": merge " + std::to_string(rank) + " '" + s + "' is not two tokens");
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            a = m[0].get<std::string>();
            b = m[1].get<std::string>();
        } else {
            fail(file, c + ": merge " + std::to_string(rank) + " must be \"a b\" or [\"a\", \"b\"]");
        }
        const int32_t ia = token_to_id(a), ib = token_to_id(b);
        std::string joined = a + (continuing_prefix_.empty() || b.compare(0, continuing_prefix_.size(),
                                                                          continuing_prefix_) != 0
                                      ? b
                                      : b.substr(continuing_prefix_.size()));
        const int32_t ij = token_to_id(joined);
        if (ia < 0 || ib < 0 || ij < 0)
            fail(file, c + ": merge " + std::to_string(rank) + " (" + a + " " + b + ") uses a token not in the vocabulary");
        merges_[pair_key(ia, ib)] = {rank, ij};  // a repeated pair keeps its last rank, as Hugging Face reads it
        ++rank;
    }
}

int32_t HfBpe::token_to_id(const std::string& token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
}

const std::string& HfBpe::id_to_token(int32_t id) const {
    static const std::string none;
    return id >= 0 && id < size() ? tokens_[static_cast<std::size_t>(id)] : none;
}

void HfBpe::tokenize(const std::string& word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        if (const int32_t id = token_to_id(word); id >= 0) {
            out.push_back(id);
            return;
        }
    }
    const bool cacheable = word.size() <= kCachedWordBytes;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        if (auto it = cache_.find(word); it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    merge_word(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        if (cache_.size() < kCacheCapacity) cache_.emplace(word, std::move(ids));
    }
}

void HfBpe::merge_word(const std::string& word, std::vector<int32_t>& out) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&](int32_t id, uint32_t len) {
        const auto n = static_cast<int32_t>(symbols.size());
        symbols.push_back({id, n - 1, n + 1, len});
    };
    // A pending unknown: kept back so that fuse_unk can join neighbouring ones.
    int32_t unk_len = 0;
    bool unk_pending = false;
    std::string piece;
    for (std::size_t i = 0; i < word.size();) {
        std::size_t len = 0;
        unicode::decode_at(word, i, &len);
        const bool first = i == 0, last = i + len == word.size();
        piece.assign(word, i, len);
        if (!continuing_prefix_.empty() && !first) piece.insert(0, continuing_prefix_);
        if (!end_suffix_.empty() && last) piece += end_suffix_;
        if (const int32_t id = token_to_id(piece); id >= 0) {
            if (unk_pending) add(unk_id_, static_cast<uint32_t>(unk_len));
            unk_pending = false;
            add(id, static_cast<uint32_t>(len));
        } else {
            bool done = false;
            if (byte_fallback_) {
                bool all = true;
                for (char ch : piece) all = all && byte_ids_[static_cast<unsigned char>(ch)] >= 0;
                if (all) {
                    // As Hugging Face does: the byte tokens go in before a still-pending unknown.
                    for (char ch : piece) add(byte_ids_[static_cast<unsigned char>(ch)], 1);
                    done = true;
                }
            }
            if (!done && unk_id_ >= 0) {
                if (unk_pending && fuse_unk_) {
                    unk_len += static_cast<int32_t>(len);
                } else {
                    if (unk_pending) add(unk_id_, static_cast<uint32_t>(unk_len));
                    unk_pending = true;
                    unk_len = static_cast<int32_t>(len);
                }
            }
        }
        i += len;
    }
    if (unk_pending) add(unk_id_, static_cast<uint32_t>(unk_len));
    if (symbols.empty()) return;
    symbols.back().next = -1;

    std::priority_queue<Merge> queue;
    auto lookup = [&](int32_t a, int32_t b) -> const std::pair<int32_t, int32_t>* {
        auto it = merges_.find(pair_key(a, b));
        return it == merges_.end() ? nullptr : &it->second;
    };
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (const auto* m = lookup(symbols[i].id, symbols[i + 1].id))
            queue.push({static_cast<int32_t>(i), m->first, m->second});
    }
    const auto n = static_cast<int32_t>(symbols.size());
    while (!queue.empty()) {
        const Merge top = queue.top();
        queue.pop();
        Symbol& cur = symbols[static_cast<std::size_t>(top.pos)];
        if (cur.len == 0 || cur.next == -1) continue;
        const int32_t next_pos = cur.next;
        const Symbol right = symbols[static_cast<std::size_t>(next_pos)];
        const auto* now = lookup(cur.id, right.id);
        if (now == nullptr || now->second != top.new_id) continue;  // a stale entry
        cur.id = top.new_id;
        cur.len += right.len;
        cur.next = right.next;
        symbols[static_cast<std::size_t>(next_pos)].len = 0;
        if (right.next >= 0 && right.next < n) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;
        if (cur.prev >= 0) {
            if (const auto* m = lookup(symbols[static_cast<std::size_t>(cur.prev)].id, cur.id))
                queue.push({cur.prev, m->first, m->second});
        }
        if (cur.next >= 0 && cur.next < n) {
            if (const auto* m = lookup(cur.id, symbols[static_cast<std::size_t>(cur.next)].id))
                queue.push({top.pos, m->first, m->second});
        }
    }
    for (const Symbol& s : symbols)
        if (s.len != 0) out.push_back(s.id);
}

}  // namespace droplora::data
