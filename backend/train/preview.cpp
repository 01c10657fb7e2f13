#include "train/preview.h"

#include <memory>
#include <mutex>
#include <optional>

#include <torch/torch.h>

#include "common/error.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "adapters/inference.h"
#include "adapters/peft.h"
#include "model/generate.h"
#include "train/task_eval.h"

namespace droplora::train {

namespace {

// Attaches a PEFT adapter for the lifetime of the scope; the base model is
// restored even when generation throws, so the cached model stays clean.
class ScopedAdapter {
public:
    ScopedAdapter(model::LlamaModelImpl& net, const std::string& adapter_dir) : net_(net) {
        try {
            adapters::load_peft_adapter(net_, adapter_dir);
        } catch (...) {
            remove_all();  // a half-loaded adapter must not stay behind
            throw;
        }
    }
    ~ScopedAdapter() { remove_all(); }
    ScopedAdapter(const ScopedAdapter&) = delete;
    ScopedAdapter& operator=(const ScopedAdapter&) = delete;

private:
    void remove_all() {
        for (auto& [name, linear] : net_.named_linears()) linear->remove_adapter();
    }
    model::LlamaModelImpl& net_;
};

std::string greedy_answer(model::LlamaModelImpl& net, const data::Tokenizer& tok, const std::vector<int64_t>& ids,
                          int max_new_tokens) {
    model::GenerateOptions o;
    o.max_new_tokens = max_new_tokens;
    o.temperature = 0.0;
    o.eos_id = tok.eos_id();
    o.stop_ids = tok.stop_ids();
    return tok.decode(model::generate(net, ids, o));
}

}  // namespace

std::vector<int64_t> build_prompt_ids(const data::Tokenizer& tokenizer, const std::string& prompt,
                                      const std::string& input, const std::string& templ, const std::string& where) {
    std::vector<int64_t> ids;
    if (templ.empty() || templ == "none") {
        if (!input.empty()) fail(where, "an input needs a template (alpaca, llama2, chatml or plain), not none");
        ids = tokenizer.encode(prompt);
        if (tokenizer.add_bos()) ids.insert(ids.begin(), tokenizer.bos_id());
        return ids;
    }
    if (templ != "alpaca" && templ != "llama2" && templ != "chatml" && templ != "plain")
        fail(where, "unknown template '" + templ + "' (expected alpaca, llama2, chatml, plain or none)");
    data::Row row;
    row.source = where;
    row.alpaca = true;
    row.instruction = prompt;
    row.input = input;
    // As data_formats.cpp joins an alpaca row for the non-alpaca templates.
    row.messages = {{"user", input.empty() ? prompt : prompt + "\n\n" + input}, {"assistant", ""}};
    data::RenderOptions ro;
    ro.templ = data::parse_template(templ, where);
    ro.max_seq_len = 1 << 20;
    const auto ex = data::tokenize(row, tokenizer, ro);
    // The prompt is everything before the (empty) response's first counted token.
    for (size_t i = 0; i < ex.input_ids.size() && ex.labels[i] == data::kIgnoreIndex; ++i)
        ids.push_back(ex.input_ids[i]);
    return ids;
}

PreviewModels::PreviewModels() : cache_(std::make_unique<adapters::InferenceCache>()) {}
PreviewModels::~PreviewModels() = default;

void PreviewModels::release() { cache_->release(); }

PreviewResult PreviewModels::generate(const std::string& model_dir, const std::string& adapter_dir,
                                      const std::string& prompt, const std::string& input, const std::string& templ,
                                      int max_new_tokens) {
    if (model_dir.empty()) fail("preview", "no model folder chosen");
    if (max_new_tokens < 1) fail("preview: max_new_tokens", "must be ≥ 1 (got " + std::to_string(max_new_tokens) + ")");
    return cache_->with(model_dir, [&](adapters::InferenceModel& m) {
        const auto ids = build_prompt_ids(*m.tokenizer, prompt, input, templ, "preview: template");
        if (ids.empty()) fail("preview: prompt", "is empty and the tokenizer adds no BOS");
        PreviewResult result;
        result.base = greedy_answer(*m.net, *m.tokenizer, ids, max_new_tokens);
        if (!adapter_dir.empty()) {
            ScopedAdapter adapter(*m.net, adapter_dir);
            result.adapted = greedy_answer(*m.net, *m.tokenizer, ids, max_new_tokens);
        }
        return result;
    });
}

PromptExample prompt_example(const std::string& data_path, const std::string& format, int64_t index) {
    data::LoadOptions lo;
    lo.format = data::parse_format(format, data_path + ": format");
    const data::LoadedRows loaded = data::load_rows(data_path, lo);
    std::vector<const data::Row*> usable;
    for (const auto& row : loaded.rows)
        if (row.messages.size() >= 2 && row.messages.back().role == "assistant" &&
            row.messages[row.messages.size() - 2].role == "user")
            usable.push_back(&row);
    if (usable.empty())
        fail(data_path, "no row ends with a user turn and the assistant's answer, so there is no example to preview");
    const auto count = static_cast<int64_t>(usable.size());
    PromptExample ex;
    ex.count = count;
    ex.index = ((index % count) + count) % count;
    const data::Row& row = *usable[static_cast<size_t>(ex.index)];
    if (row.alpaca) {
        ex.prompt = row.instruction;
        ex.input = row.input;
    } else {
        ex.prompt = row.messages[row.messages.size() - 2].content;
    }
    ex.reference = row.messages.back().content;
    ex.source = row.source;
    return ex;
}

AdapterScore PreviewModels::score(const std::string& model_dir, const std::string& adapter_dir,
                                  const std::string& data_path, const std::string& format, const std::string& templ,
                                  int64_t max_seq_len, int64_t max_new_tokens) {
    if (model_dir.empty()) fail("score", "no model folder chosen");
    TaskEvalOptions o;
    o.format = data::parse_format(format, data_path + ": format");
    o.templ = data::parse_template(templ, data_path + ": template");
    o.max_seq_len = max_seq_len;
    o.max_new_tokens = max_new_tokens;
    const TaskEvalResult r = cache_->with(model_dir, [&](adapters::InferenceModel& m) {
        std::optional<ScopedAdapter> adapter;
        if (!adapter_dir.empty()) adapter.emplace(*m.net, adapter_dir);
        return evaluate_dataset(*m.net, *m.tokenizer, data_path, o);
    });
    AdapterScore score;
    score.loss = r.loss;
    score.perplexity = r.perplexity;
    score.exact_match = r.exact_match();
    score.matched = r.matched;
    score.examples = r.examples;
    return score;
}

// One-shot forms: each call loads the model for itself (a PreviewModels keeps it loaded).
PreviewResult generate_preview(const std::string& model_dir, const std::string& adapter_dir, const std::string& prompt,
                               const std::string& input, const std::string& templ, int max_new_tokens) {
    PreviewModels models;
    return models.generate(model_dir, adapter_dir, prompt, input, templ, max_new_tokens);
}

AdapterScore score_adapter(const std::string& model_dir, const std::string& adapter_dir, const std::string& data_path,
                           const std::string& format, const std::string& templ, int64_t max_seq_len,
                           int64_t max_new_tokens) {
    PreviewModels models;
    return models.score(model_dir, adapter_dir, data_path, format, templ, max_seq_len, max_new_tokens);
}

}  // namespace droplora::train
