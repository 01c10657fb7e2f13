// The embedded demo: what a model answers to a prompt with and without an
// adapter, and how a trained adapter scores on a validation file. Torch-free,
// so the workbench calls it from a worker thread; `droplora generate` builds its
// prompt with build_prompt_ids, so the CLI and the GUI feed the model the same ids.
//
// PreviewModels keeps the base model and its tokenizer loaded (one model
// folder at a time) for its owner, so repeated previews cost only the
// generation; calls are serialised.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace droplora::data {
class Tokenizer;
}
namespace droplora::adapters {
class InferenceCache;
}

namespace droplora::train {

// The prompt's ids. templ alpaca|llama2|chatml|plain renders `prompt` as the
// user's turn and keeps everything before the assistant's (empty) answer; a
// non-empty `input` is an alpaca row's input (the alpaca template's
// "### Input:" block; the other templates join it to the prompt after a blank
// line, as training does). "none" or "" is the raw text after BOS (when the
// tokenizer adds one), `input` then not allowed. `where` names the template
// setting in errors ("--template").
std::vector<int64_t> build_prompt_ids(const data::Tokenizer& tokenizer, const std::string& prompt,
                                      const std::string& input, const std::string& templ, const std::string& where);

// One row of a data file as a preview prompt: an alpaca row's instruction and
// input; a chat or completion row's last user turn (earlier turns are left
// out). `reference` is the answer the file expects (the last assistant
// message). Rows without an answer (text documents) are not examples.
struct PromptExample {
    std::string prompt;
    std::string input;
    std::string reference;
    std::string source;  // "file.jsonl:12"
    int64_t index = 0;   // which example (wrapped into 0 … count-1)
    int64_t count = 0;   // examples in the file
};

// Example number `index` (any integer; it wraps) of the data file; format
// auto|alpaca|chat|completion. Throws Error naming the file when it has none.
PromptExample prompt_example(const std::string& data_path, const std::string& format, int64_t index);

struct PreviewResult {
    std::string base;     // the base model's greedy continuation
    std::string adapted;  // with the adapter; empty when no adapter was given
};

// Greedy continuations (up to max_new_tokens, stopping at EOS) of the base
// model in model_dir and of the same model with the PEFT adapter in adapter_dir
// (skipped when adapter_dir is empty). Device "auto", as `droplora generate`.
// Throws Error naming the folder or setting that is wrong.
PreviewResult generate_preview(const std::string& model_dir, const std::string& adapter_dir, const std::string& prompt,
                               const std::string& input, const std::string& templ, int max_new_tokens);

struct AdapterScore {
    double loss = 0;         // mean cross-entropy per response token of the file
    double perplexity = 0;   // exp(loss)
    double exact_match = 0;  // share of greedy answers equal to the reference
    int64_t matched = 0;     // greedy answers equal to the reference
    int64_t examples = 0;
};

// The model with the adapter (the base model alone when adapter_dir is empty)
// on a data file (train/task_eval.h's evaluate_dataset): format
// auto|alpaca|chat|completion, templ as in training.
AdapterScore score_adapter(const std::string& model_dir, const std::string& adapter_dir, const std::string& data_path,
                           const std::string& format, const std::string& templ, int64_t max_seq_len,
                           int64_t max_new_tokens);


// The models previews and scores answer with, kept loaded between calls by
// their owner (the workbench's main window) and freed with it or by release().
// Torch-free surface.
class PreviewModels {
public:
    PreviewModels();
    ~PreviewModels();
    PreviewModels(const PreviewModels&) = delete;
    PreviewModels& operator=(const PreviewModels&) = delete;

    // As generate_preview, on the kept model.
    PreviewResult generate(const std::string& model_dir, const std::string& adapter_dir, const std::string& prompt,
                           const std::string& input, const std::string& templ, int max_new_tokens);
    // As score_adapter, on the kept model.
    AdapterScore score(const std::string& model_dir, const std::string& adapter_dir, const std::string& data_path,
                       const std::string& format, const std::string& templ, int64_t max_seq_len,
                       int64_t max_new_tokens);
    // Frees the loaded model (e.g. before a training run needs the memory).
    void release();

private:
    std::unique_ptr<adapters::InferenceCache> cache_;
};

}  // namespace droplora::train
