// Evaluation of a model on an instruction dataset (alpaca, chat, completion):
// how well it scores the reference responses, and how often its own greedy
// answer is exactly the reference.
//
// Each row is rendered and tokenized exactly as training does (data/dataset.h,
// train_on_prompt off). The loss is the mean next-token cross-entropy over the
// response tokens (each response's EOS included), as the trainer's validation
// loss; perplexity = exp(loss). For exact match the prompt is everything before
// the row's last response, the model continues it greedily until EOS (or
// max_new_tokens), and the decoded answer is compared with the last response
// as the template renders it, both with surrounding whitespace trimmed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/dataset.h"
#include "model/llama.h"

namespace droplora::data {
class Tokenizer;
}

namespace droplora::train {

struct TaskEvalOptions {
    data::Format format = data::Format::Auto;
    data::Template templ = data::Template::Alpaca;
    int64_t max_seq_len = 0;       // tokens scored per example; ≤ 0: the model's context
    int64_t max_new_tokens = 64;   // generation budget per row
    bool generate = true;          // false: loss only (text rows allowed then)
    bool skip_bad_rows = false;
    int64_t batch_size = 8;        // rows per forward pass for the loss
    // Called after each generated row with (rows done, rows in all).
    std::function<void(int64_t, int64_t)> on_progress;
};

struct TaskEvalResult {
    double loss = 0;          // mean cross-entropy per response token
    double perplexity = 0;    // exp(loss)
    int64_t tokens = 0;       // response tokens scored
    int64_t examples = 0;     // rows evaluated
    int64_t generated = 0;    // rows answered by generation (0 when generate is off)
    int64_t matched = 0;      // generated answers equal to the reference
    int64_t prompt_too_long = 0;  // rows whose prompt fills the context (counted as not matched)
    int64_t truncated = 0;    // rows cut at max_seq_len for the loss
    int64_t skipped_rows = 0; // bad rows skipped (skip_bad_rows)
    double exact_match() const { return generated ? static_cast<double>(matched) / generated : 0.0; }
};

// Reads `path` (any format data::load_rows reads) and evaluates every row.
// Throws Error naming the file and row for unusable data: a text row when
// generating, a row that does not end with the assistant's message, a dataset
// without any response token to score.
TaskEvalResult evaluate_dataset(model::LlamaModelImpl& model, const data::Tokenizer& tokenizer,
                                const std::string& path, const TaskEvalOptions& options);

// The text after trimming spaces, tabs and line breaks at both ends.
std::string trim_whitespace(const std::string& text);

}  // namespace droplora::train
