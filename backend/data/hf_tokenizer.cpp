#include "data/hf_tokenizer.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/text.h"
#include "data/hf_bpe.h"
#include "data/hf_decoder.h"
#include "data/hf_json.h"
#include "data/hf_normalizer.h"
#include "data/hf_pretokenizer.h"
#include "data/unicode_text.h"

namespace droplora::data {
namespace {

using nlohmann::json;

struct Around {
    std::vector<int32_t> prefix, suffix;
};

std::vector<int32_t> ids_of(const json& special, const std::string& name, const std::string& file,
                            const std::string& component) {
    auto it = special.find(name);
    if (it == special.end() || !it->is_object())
        fail(file, component + ": special token '" + name + "' is not in \"special_tokens\"");
    std::vector<int32_t> ids;
    for (const auto& id : hf_json::array_at(*it, "ids", file, component + " special token " + name)) {
        if (!id.is_number_integer()) fail(file, component + ": special token '" + name + "' has a non-integer id");
        ids.push_back(id.get<int32_t>());
    }
    return ids;
}

// The post-processor as what it adds around one text (the pair templates are not used here).
Around parse_post_processor(const json& j, const std::string& file, const HfTokenizer& tok) {
    Around a;
    if (j.is_null()) return a;
    const std::string type = hf_json::type_of(j, file, "post_processor");
    const std::string component = "post_processor " + type;
    if (type == "ByteLevel") return a;  // only trims offsets
    if (type == "Sequence") {
        for (const auto& p : hf_json::array_at(j, "processors", file, component)) {
            const Around inner = parse_post_processor(p, file, tok);
            a.prefix.insert(a.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
            a.suffix.insert(a.suffix.end(), inner.suffix.begin(), inner.suffix.end());
        }
        return a;
    }
    if (type == "TemplateProcessing") {
        auto special = j.find("special_tokens");
        if (special == j.end() || !special->is_object()) fail(file, component + ": \"special_tokens\" must be an object");
        bool seen_a = false;
        for (const auto& item : hf_json::array_at(j, "single", file, component)) {
            if (auto s = item.find("SpecialToken"); s != item.end()) {
                const auto ids = ids_of(*special, hf_json::string_at(*s, "id", file, component), file, component);
                auto& side = seen_a ? a.suffix : a.prefix;
                side.insert(side.end(), ids.begin(), ids.end());
            } else if (auto q = item.find("Sequence"); q != item.end()) {
                if (hf_json::string_at(*q, "id", file, component) != "A" || seen_a)
                    fail(file, component + ": the single template must hold sequence A once");
                seen_a = true;
            } else {
                fail(file, component + ": a template item must be SpecialToken or Sequence, got " + item.dump());
            }
        }
        if (!seen_a) fail(file, component + ": the single template has no sequence A");
        return a;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        auto token_id = [&](const char* key) {
            const json& pair = hf_json::array_at(j, key, file, component);
            if (pair.size() != 2 || !pair[1].is_number_integer())
                fail(file, component + ": \"" + key + "\" must be [token, id]");
            return pair[1].get<int32_t>();
        };
        a.prefix.push_back(token_id("cls"));
        a.suffix.push_back(token_id("sep"));
        return a;
    }
    fail(file, "post_processor type '" + type +
                   "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence, BertProcessing, "
                   "RobertaProcessing)");
}

bool has_byte_level(const json& j) {
    if (j.is_object()) {
        if (auto t = j.find("type"); t != j.end() && t->is_string() && *t == "ByteLevel") return true;
        for (const auto& [k, v] : j.items())
            if ((v.is_array() || v.is_object()) && has_byte_level(v)) return true;
    } else if (j.is_array()) {
        for (const auto& v : j)
            if (has_byte_level(v)) return true;
    }
    return false;
}

}  // namespace

HfTokenizer::~HfTokenizer() = default;

std::unique_ptr<HfTokenizer> HfTokenizer::load(const std::string& tokenizer_json) {
    std::ifstream in(tokenizer_json, std::ios::binary | std::ios::ate);
    if (!in) fail(tokenizer_json, "cannot open");
    const std::streamoff size = in.tellg();
    if (size < 0) fail(tokenizer_json, "cannot read");
    std::string text(static_cast<std::size_t>(size), '\0');
    in.seekg(0);
    if (!in.read(text.data(), size)) fail(tokenizer_json, "cannot read");
    return parse(text, tokenizer_json);
}

std::unique_ptr<HfTokenizer> HfTokenizer::parse(const std::string& text, const std::string& file) {
    // The file's own strings reach its messages (a component's type, a token's content): escaped at this
    // boundary, every message stays one line (a fuzz finding: a normalizer type with a line break).
    const auto build = [&]() -> std::unique_ptr<HfTokenizer> {
        json j;
        try {
            j = json::parse(text);
        } catch (const json::exception& e) {
            std::string what = e.what();
            fail(file, "malformed JSON: " + what);
        }
        if (!j.is_object()) fail(file, std::string("expected a JSON object, got ") + j.type_name());
        std::unique_ptr<HfTokenizer> tok(new HfTokenizer());
        tok->file_ = file;

        auto model = j.find("model");
        if (model == j.end() || !model->is_object()) fail(file, "has no \"model\" object");
        // Files written by older tokenizers versions may leave out the BPE model's type.
        const std::string type = model->contains("type") ? hf_json::type_of(*model, file, "model")
                                 : model->contains("merges") ? "BPE"
                                                             : "unknown";
        if (type != "BPE")
            fail(file, "model type '" + type + "' is not supported (only BPE; WordPiece, Unigram and WordLevel are not)");
        tok->model_ = std::make_unique<HfBpe>(*model, file);

        tok->normalizer_ = parse_hf_normalizer(j.value("normalizer", json()), file);
        tok->pre_tokenizer_ = parse_hf_pre_tokenizer(j.value("pre_tokenizer", json()), file);
        tok->decoder_ = parse_hf_decoder(j.value("decoder", json()), file);
        tok->byte_level_ = has_byte_level(j.value("pre_tokenizer", json())) || has_byte_level(j.value("decoder", json()));

        std::vector<HfAddedToken> added;
        int32_t max_id = tok->model_->size() - 1;
        if (auto a = j.find("added_tokens"); a != j.end() && !a->is_null()) {
            if (!a->is_array()) fail(file, "\"added_tokens\" must be a list");
            for (const auto& t : *a) {
                const std::string c = "added_tokens";
                HfAddedToken at;
                if (!t.is_object()) fail(file, c + ": each entry must be an object");
                const long long id = hf_json::int_at(t, "id", -1, file, c);
                if (id < 0 || id > INT32_MAX) fail(file, c + ": an entry has no valid \"id\"");
                at.id = static_cast<int32_t>(id);
                at.content = hf_json::string_at(t, "content", file, c);
                if (at.content.empty()) fail(file, c + ": token " + std::to_string(id) + " has empty content");
                at.special = hf_json::bool_at(t, "special", false, file, c);
                at.lstrip = hf_json::bool_at(t, "lstrip", false, file, c);
                at.rstrip = hf_json::bool_at(t, "rstrip", false, file, c);
                at.single_word = hf_json::bool_at(t, "single_word", false, file, c);
                at.normalized = hf_json::bool_at(t, "normalized", !at.special, file, c);
                max_id = std::max(max_id, at.id);
                added.push_back(std::move(at));
            }
        }
        tok->added_ = HfAddedTokens(std::move(added), tok->normalizer_.get());
        tok->vocab_size_ = max_id + 1;

        const Around around = parse_post_processor(j.value("post_processor", json()), file, *tok);
        tok->prefix_ = around.prefix;
        tok->suffix_ = around.suffix;
        for (const auto* side : {&tok->prefix_, &tok->suffix_}) {
            for (int32_t id : *side)
                if (!tok->has_id(id)) fail(file, "post_processor: special token id " + std::to_string(id) + " is not a token");
        }
        if (auto t = j.find("truncation"); t != j.end() && !t->is_null()) {
            // Deliberately not applied: transformers' tokenizer(text) does not truncate unless asked.
        }
        return tok;
    };
    try {
        return build();
    } catch (const Error& e) {
        throw Error(escape_control_chars(e.what(), false, 2000));
    }
}

std::vector<int32_t> HfTokenizer::encode(const std::string& input, bool add_special_tokens) const {
    const std::string valid = unicode::is_valid_utf8(input) ? std::string() : unicode::lossy_utf8(input);
    const std::string& text = valid.empty() ? input : valid;

    std::vector<int32_t> ids;
    if (add_special_tokens) ids = prefix_;
    std::vector<HfSegment> raw, normalized;
    added_.split(text, true, false, raw);
    std::vector<HfPiece> pieces;
    for (HfSegment& seg : raw) {
        if (seg.id >= 0) {
            ids.push_back(seg.id);
            continue;
        }
        if (normalizer_) normalizer_->apply(seg.text);
        normalized.clear();
        added_.split(seg.text, seg.at_start, true, normalized);
        for (HfSegment& part : normalized) {
            if (part.id >= 0) {
                ids.push_back(part.id);
                continue;
            }
            pieces.clear();
            pieces.push_back({std::move(part.text), part.at_start});
            if (pre_tokenizer_) pre_tokenizer_->apply(pieces);
            for (const HfPiece& p : pieces) model_->tokenize(p.text, ids);
        }
    }
    if (add_special_tokens) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
    return ids;
}

bool HfTokenizer::has_id(int32_t id) const {
    return added_.find_id(id) != nullptr || !model_->id_to_token(id).empty();
}

int32_t HfTokenizer::token_to_id(const std::string& token) const {
    if (const HfAddedToken* a = added_.find_content(token)) return a->id;
    return model_->token_to_id(token);
}

std::string HfTokenizer::id_to_token(int32_t id) const {
    if (const HfAddedToken* a = added_.find_id(id)) return a->content;
    return model_->id_to_token(id);
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        const HfAddedToken* a = added_.find_id(id);
        if (a != nullptr) {
            if (!(skip_special_tokens && a->special)) tokens.push_back(a->content);
            continue;
        }
        const std::string& t = model_->id_to_token(id);
        if (t.empty()) fail(file_, "cannot decode token id " + std::to_string(id) + ": not in the vocabulary");
        tokens.push_back(t);
    }
    return hf_decode(decoder_.get(), std::move(tokens));
}

}  // namespace droplora::data
