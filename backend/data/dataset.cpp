// Rows to training examples: names, tokenization with loss labels, the
// dataset build and the train/validation split (dataset.h). File reading is in
// data_formats.cpp, the templates in templates.cpp.
//
// Labels (unshifted; the loss shifts them by one):
//   - the leading BOS never counts;
//   - response tokens and the EOS after them count;
//   - prompt tokens (and a BOS that starts a later llama2 turn) count only with
//     train_on_prompt, which thus counts every token but the leading BOS;
//   - a text document counts every token but the leading BOS.
// The model's chat template (Template::Model) writes BOS and the special tokens
// as text; no BOS is added for a conversation, and the model's bos/eos token
// strings in the text become their ids (docs/chat-templates.md).
// Truncation keeps the first max_seq_len tokens.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "common/error.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"

namespace droplora::data {
namespace {

std::string lowered(const std::string& s) {
    std::string out = s;
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// Whether the tokenizer starts every encoded text with sentencepiece's dummy
// prefix "▁" (LLaMA's tokenizers do). Then a segment that continues the
// previous segment's text with a space (llama2's " " + assistant) gives that
// space to the dummy prefix: encode("hello") == the tail of
// encode("[/INST] hello"), whereas encode(" hello") would add a second "▁".
bool adds_dummy_prefix(const Tokenizer& tok) {
    const std::vector<int64_t> ids = tok.encode("a");
    return !ids.empty() && tok.id_to_piece(ids.front()).rfind("\xE2\x96\x81", 0) == 0;
}

// Uniform in [0, bound) from the raw 64-bit stream, rejecting the biased tail
// (std::uniform_int_distribution is implementation-defined).
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    for (;;) {
        const uint64_t r = rng();
        if (r >= threshold) return r % bound;
    }
}

// Long texts are cut before tokenizing (a 50 MB row at max_seq_len 128 was
// once tokenized whole: 89 s, 4.5 GB). encode_at_least encodes text[from..) when
// it is short, else a prefix that gives at least `wanted` + kCutMargin tokens:
// it starts at kCutBytesPerToken bytes per token and doubles. The prefix ends
// before a space or line break when one is near (tokenizers split there), and
// the margin tokens past `wanted`, near the cut, are dropped by the truncation,
// so the tokens kept are those of the whole text. Texts of at most
// kCutBytesPerToken * (wanted + kCutMargin) bytes (and 4 KiB) are encoded whole, as before.
constexpr size_t kCutMargin = 16;
constexpr size_t kCutBytesPerToken = 16;
constexpr size_t kCutMinBytes = 4096;
constexpr size_t kCutSpaceLookback = 256;

// Where to end a prefix of at most `len` bytes of text[from..).
size_t cut_end(const std::string& text, size_t from, size_t len) {
    size_t end = from + len;
    while (end > from + 1 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // UTF-8 boundary
    for (size_t i = end; i > from + 1 && i + kCutSpaceLookback > end; --i) {
        const char c = text[i - 1];
        if (c == ' ' || c == '\n' || c == '\t') return i - 1;  // just before the space
    }
    return end;
}

std::vector<int64_t> encode_at_least(const Tokenizer& tok, const std::string& text, size_t from, size_t wanted) {
    const size_t need = wanted + kCutMargin;
    const size_t size = text.size() - from;
    size_t len = std::max(kCutMinBytes, need * kCutBytesPerToken);
    for (; len < size; len *= 2) {
        const size_t end = cut_end(text, from, len);
        std::vector<int64_t> ids = tok.encode(text.substr(from, end - from));
        if (ids.size() >= need) return ids;
        if (len > size / 2) break;  // the next try would be the whole text anyway
    }
    return tok.encode(from == 0 ? text : text.substr(from));
}

}  // namespace

Format parse_format(const std::string& s, const std::string& where) {
    const std::string v = lowered(s);
    if (v == "auto") return Format::Auto;
    if (v == "alpaca") return Format::Alpaca;
    if (v == "chat") return Format::Chat;
    if (v == "completion") return Format::Completion;
    if (v == "text") return Format::Text;
    fail(where, "unknown data format '" + s + "' (expected auto, alpaca, chat, completion or text)");
}

Template parse_template(const std::string& s, const std::string& where) {
    const std::string v = lowered(s);
    if (v == "alpaca") return Template::Alpaca;
    if (v == "llama2") return Template::Llama2;
    if (v == "chatml") return Template::ChatML;
    if (v == "plain") return Template::Plain;
    if (v == "llama3") return Template::Llama3;
    if (v == "model") return Template::Model;
    fail(where, "unknown template '" + s + "' (expected alpaca, llama2, chatml, plain, llama3 or model)");
}

const char* format_name(Format f) {
    switch (f) {
        case Format::Auto:
            return "auto";
        case Format::Alpaca:
            return "alpaca";
        case Format::Chat:
            return "chat";
        case Format::Completion:
            return "completion";
        case Format::Text:
            return "text";
    }
    return "?";
}

const char* template_name(Template t) {
    switch (t) {
        case Template::Alpaca:
            return "alpaca";
        case Template::Llama2:
            return "llama2";
        case Template::ChatML:
            return "chatml";
        case Template::Plain:
            return "plain";
        case Template::Llama3:
            return "llama3";
        case Template::Model:
            return "model";
    }
    return "?";
}

namespace {

// The special tokens a chat template writes as text that this tokenizer
// knows by id: the model's bos/eos strings when they are the tokenizer's
// BOS/EOS pieces.
std::vector<std::pair<std::string, int64_t>> special_texts(const Tokenizer& tok, const ChatTemplate* ct) {
    std::vector<std::pair<std::string, int64_t>> out;
    if (!ct) return out;
    if (ct->bos_token() && !ct->bos_token()->empty() && tok.id_to_piece(tok.bos_id()) == *ct->bos_token())
        out.emplace_back(*ct->bos_token(), tok.bos_id());
    if (ct->eos_token() && !ct->eos_token()->empty() && tok.id_to_piece(tok.eos_id()) == *ct->eos_token())
        out.emplace_back(*ct->eos_token(), tok.eos_id());
    return out;
}

// Splits text at the special token strings: (text, -1) pieces and (token, id).
std::vector<std::pair<std::string, int64_t>> split_specials(const std::string& text,
                                                            const std::vector<std::pair<std::string, int64_t>>& sp) {
    std::vector<std::pair<std::string, int64_t>> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t best = std::string::npos, best_len = 0;
        int64_t best_id = -1;
        for (const auto& [s, id] : sp) {
            const size_t k = text.find(s, pos);
            if (k != std::string::npos && (k < best || (k == best && s.size() > best_len))) {
                best = k;
                best_len = s.size();
                best_id = id;
            }
        }
        if (best == std::string::npos) {
            out.emplace_back(text.substr(pos), -1);
            break;
        }
        if (best > pos) out.emplace_back(text.substr(pos, best - pos), -1);
        out.emplace_back(text.substr(best, best_len), best_id);
        pos = best + best_len;
    }
    return out;
}

}  // namespace

Example tokenize(const Row& row, const Tokenizer& tok, const RenderOptions& opts) {
    if (opts.max_seq_len < 1)
        fail(row.source, "max_seq_len must be at least 1, not " + std::to_string(opts.max_seq_len));
    const bool count_prompt = opts.train_on_prompt || row.messages.empty();
    const bool dummy_prefix = adds_dummy_prefix(tok);
    const bool model_chat = opts.templ == Template::Model && !row.messages.empty();
    const auto specials = special_texts(tok, model_chat ? opts.chat_template.get() : nullptr);

    Example ex;
    ex.source = row.source;
    const auto push = [&ex](int64_t id, bool counted) {
        ex.input_ids.push_back(id);
        ex.labels.push_back(counted ? id : kIgnoreIndex);
    };
    if (tok.add_bos() && !model_chat) push(tok.bos_id(), false);

    bool continues_text = false;  // the previous segment's text runs straight into this one
    const auto max_len = static_cast<size_t>(opts.max_seq_len);
    for (const Segment& seg : render(row, opts)) {
        // Past max_seq_len nothing more can change the kept tokens (and truncated stays true).
        if (ex.input_ids.size() > max_len) break;
        const bool counted = seg.is_response || count_prompt;
        if (seg.bos_before) {
            push(tok.bos_id(), count_prompt);
            continues_text = false;
        }
        for (const auto& [text, special_id] : split_specials(seg.text, specials)) {
            if (ex.input_ids.size() > max_len) break;
            if (special_id >= 0) {
                // The template's leading BOS never counts, as the tokenizer's does not.
                push(special_id, counted && !ex.input_ids.empty());
                continues_text = false;
                continue;
            }
            size_t skip = 0;
            if (dummy_prefix && continues_text && !text.empty() && text[0] == ' ') skip = 1;
            if (text.size() > skip) {
                for (int64_t id : encode_at_least(tok, text, skip, max_len + 1 - ex.input_ids.size())) push(id, counted);
                continues_text = true;
            }
        }
        if (seg.eos_after) {
            push(tok.eos_id(), counted);
            continues_text = false;
        }
    }
    if (static_cast<int64_t>(ex.input_ids.size()) > opts.max_seq_len) {
        ex.input_ids.resize(static_cast<size_t>(opts.max_seq_len));
        ex.labels.resize(static_cast<size_t>(opts.max_seq_len));
        ex.truncated = true;
    }
    return ex;
}

Dataset build_dataset(const std::string& path, const Tokenizer& tok, const LoadOptions& load,
                      const RenderOptions& render) {
    LoadedRows rows = load_rows(path, load);
    RenderOptions effective = render;
    if (render.chat_files_only) effective.templ = rows.format == Format::Chat ? Template::Model : render.templ;
    Dataset ds;
    ds.format = rows.format;
    ds.skipped_rows = rows.skipped;
    ds.examples.reserve(rows.rows.size());
    for (const Row& row : rows.rows) {
        Example ex = tokenize(row, tok, effective);
        if (ex.truncated) ++ds.truncated;
        // Position 0 is never a target once the loss shifts labels by one.
        const bool has_target = std::any_of(ex.labels.begin() + std::min<size_t>(1, ex.labels.size()), ex.labels.end(),
                                            [](int64_t l) { return l != kIgnoreIndex; });
        if (!has_target) {
            ++ds.without_labels;
            continue;
        }
        ds.examples.push_back(std::move(ex));
    }
    if (ds.examples.empty()) {
        fail(path, "no usable example: all " + std::to_string(rows.rows.size()) +
                       " rows lost every response token to truncation at max_seq_len " +
                       std::to_string(render.max_seq_len));
    }
    return ds;
}

std::string resolve_template(const std::string& templ, const std::string& model_dir, RenderOptions* opts) {
    opts->templ = parse_template(templ, "data.template");
    opts->chat_template.reset();
    opts->chat_files_only = false;
    if (opts->templ == Template::Model) {
        std::optional<ChatTemplate> ct = load_chat_template(model_dir);
        if (!ct)
            fail(model_dir, "data.template is model, but the folder has no chat template (chat_template in "
                            "tokenizer_config.json, or chat_template.jinja)");
        opts->chat_template = std::make_shared<ChatTemplate>(std::move(*ct));
        return "the model's chat template (" + opts->chat_template->name() + ")";
    }
    // The default: a model with its own chat template renders chat files with it.
    if (opts->templ != Template::Alpaca || model_dir.empty()) return template_name(opts->templ);
    try {
        std::optional<ChatTemplate> ct = load_chat_template(model_dir);
        if (!ct) return "alpaca";
        opts->chat_template = std::make_shared<ChatTemplate>(std::move(*ct));
    } catch (const Error& e) {
        return std::string("alpaca (the model's chat template is not usable: ") + e.what() + ")";
    }
    opts->chat_files_only = true;
    return "the model's chat template (" + opts->chat_template->name() + ") for chat files, alpaca for the others";
}

std::vector<size_t> shuffled_indices(size_t n, uint64_t seed) {
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    std::mt19937_64 rng(seed);
    for (size_t i = n; i > 1; --i) {
        const size_t j = static_cast<size_t>(bounded(rng, i));
        std::swap(idx[i - 1], idx[j]);
    }
    return idx;
}

void split_validation(const std::vector<Example>& all, double fraction, uint64_t seed, std::vector<Example>* train,
                      std::vector<Example>* val) {
    if (!train || !val) fail("split_validation", "train and val outputs are required");
    if (!(fraction >= 0.0 && fraction < 1.0)) {
        fail("val_fraction", "must be in [0, 1), not " + std::to_string(fraction));
    }
    const size_t n = all.size();
    size_t n_val = static_cast<size_t>(std::llround(fraction * static_cast<double>(n)));
    if (fraction > 0.0 && n >= 2) n_val = std::clamp<size_t>(n_val, 1, n - 1);
    if (n < 2) n_val = 0;

    // Which examples are validation is decided by the shuffle; both sides keep file order.
    std::vector<bool> is_val(n, false);
    const std::vector<size_t> order = shuffled_indices(n, seed);
    for (size_t k = n - n_val; k < n; ++k) is_val[order[k]] = true;
    train->clear();
    val->clear();
    train->reserve(n - n_val);
    val->reserve(n_val);
    for (size_t i = 0; i < n; ++i) (is_val[i] ? val : train)->push_back(all[i]);
}

}  // namespace droplora::data
