#include "train/task_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "common/error.h"
#include "data/batcher.h"
#include "data/tokenizer.h"
#include "model/generate.h"

namespace droplora::train {
namespace {

// One row, tokenized whole (not truncated), with what generation needs.
struct EvalRow {
    data::Example example;
    size_t prompt_length = 0;  // tokens before the last response
    std::string reference;     // the last response as rendered, trimmed
};

// The last response segment's text: what the model is trained to produce before EOS.
std::string last_response_text(const data::Row& row, data::Template templ) {
    const std::vector<data::Segment> segments = data::render(row, templ);
    for (auto it = segments.rbegin(); it != segments.rend(); ++it)
        if (it->is_response) return it->text;
    return "";
}

EvalRow prepare_row(const data::Row& row, const data::Tokenizer& tok, const TaskEvalOptions& o) {
    EvalRow out;
    data::RenderOptions render;
    render.templ = o.templ;
    render.max_seq_len = std::numeric_limits<int64_t>::max();
    render.train_on_prompt = false;
    out.example = data::tokenize(row, tok, render);
    if (!o.generate) return out;

    if (row.messages.empty())
        fail(row.source, "is a text document; exact match needs instruction rows (alpaca, chat or completion), "
                         "or evaluate without generation");
    if (row.messages.back().role != "assistant")
        fail(row.source, "does not end with the assistant's message, so there is no reference answer");
    // The last response is the final run of counted labels (it ends with EOS).
    const std::vector<int64_t>& labels = out.example.labels;
    size_t start = labels.size();
    while (start > 0 && labels[start - 1] != data::kIgnoreIndex) --start;
    if (start == labels.size() || start == 0)
        fail(row.source, "has no prompt before its last response under the " +
                             std::string(data::template_name(o.templ)) + " template");
    out.prompt_length = start;
    out.reference = trim_whitespace(last_response_text(row, o.templ));
    return out;
}

// Σ cross-entropy over counted targets and their number, for examples cut at max_seq_len.
void add_loss(model::LlamaModelImpl& model, const std::vector<data::Example>& batch_examples, int64_t pad_id,
              double* loss_sum, int64_t* tokens) {
    std::vector<const data::Example*> ptrs;
    for (const auto& ex : batch_examples) ptrs.push_back(&ex);
    const data::Batch b = data::collate(ptrs, pad_id);
    const auto device = model.embed_tokens.device();
    auto logits = model.forward(b.input_ids.to(device), b.attention_mask.to(device));  // [B, T, V]
    *loss_sum += model::causal_lm_loss_sum(logits, b.labels).item<double>();
    *tokens += b.counted_tokens;
}

data::Example truncated_copy(const data::Example& ex, int64_t max_len) {
    data::Example out = ex;
    if (static_cast<int64_t>(out.input_ids.size()) > max_len) {
        out.input_ids.resize(static_cast<size_t>(max_len));
        out.labels.resize(static_cast<size_t>(max_len));
        out.truncated = true;
    }
    return out;
}

}  // namespace

std::string trim_whitespace(const std::string& text) {
    const char* blanks = " \t\r\n\v\f";
    const size_t first = text.find_first_not_of(blanks);
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

TaskEvalResult evaluate_dataset(model::LlamaModelImpl& model, const data::Tokenizer& tok, const std::string& path,
                                const TaskEvalOptions& o) {
    if (o.generate && o.max_new_tokens < 1) fail("evaluate", "max_new_tokens must be at least 1");
    if (o.batch_size < 1) fail("evaluate", "batch_size must be at least 1");
    const int64_t ctx = model.config().max_position_embeddings;
    const int64_t max_len = o.max_seq_len > 0 ? o.max_seq_len : ctx;
    if (max_len < 2) fail("evaluate", "max_seq_len must be at least 2");
    if (tok.vocab_size() > model.config().vocab_size)
        fail(tok.model_path(), "has " + std::to_string(tok.vocab_size()) + " pieces, more than the model's vocab_size " +
                                   std::to_string(model.config().vocab_size));

    data::LoadOptions load;
    load.format = o.format;
    load.skip_bad_rows = o.skip_bad_rows;
    const data::LoadedRows loaded = data::load_rows(path, load);
    if (loaded.rows.empty()) fail(path, "has no rows to evaluate");

    TaskEvalResult r;
    r.skipped_rows = loaded.skipped;
    std::vector<EvalRow> rows;
    rows.reserve(loaded.rows.size());
    for (const data::Row& row : loaded.rows) rows.push_back(prepare_row(row, tok, o));
    r.examples = static_cast<int64_t>(rows.size());

    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const int64_t pad_id = data::padding_id(tok);
    double loss_sum = 0;
    std::vector<data::Example> batch;
    for (size_t i = 0; i < rows.size(); ++i) {
        data::Example ex = truncated_copy(rows[i].example, max_len);
        if (ex.truncated) ++r.truncated;
        batch.push_back(std::move(ex));
        if (static_cast<int64_t>(batch.size()) == o.batch_size || i + 1 == rows.size()) {
            add_loss(model, batch, pad_id, &loss_sum, &r.tokens);
            batch.clear();
        }
    }
    if (r.tokens == 0) fail(path, "has no response token to score within " + std::to_string(max_len) + " tokens");
    r.loss = loss_sum / static_cast<double>(r.tokens);
    r.perplexity = std::exp(r.loss);

    if (o.generate) {
        model::GenerateOptions g;
        g.max_new_tokens = o.max_new_tokens;
        g.temperature = 0.0;
        g.eos_id = tok.eos_id();
        g.stop_ids = tok.stop_ids();
        for (const EvalRow& row : rows) {
            ++r.generated;
            if (static_cast<int64_t>(row.prompt_length) >= ctx) {
                ++r.prompt_too_long;
            } else {
                const std::vector<int64_t> prompt(row.example.input_ids.begin(),
                                                  row.example.input_ids.begin() + static_cast<long>(row.prompt_length));
                const std::string answer = trim_whitespace(tok.decode(model::generate(model, prompt, g)));
                if (answer == row.reference) ++r.matched;
            }
            if (o.on_progress) o.on_progress(r.generated, r.examples);
        }
    }
    if (was_training) model.train();
    return r;
}

}  // namespace droplora::train
