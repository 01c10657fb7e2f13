// The embedded demo: what a model answers to a prompt with and without an
// adapter, and how a trained adapter scores on a validation file. Torch-free,
// so the workbench calls it from a worker thread; `droplora generate` builds its
// prompt with build_prompt_ids, so the CLI and the GUI feed the model the same ids.
//
// The base model and its tokenizer stay cached (one model folder at a time), so
// repeated previews cost only the generation; calls are serialised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace droplora::data {
class Tokenizer;
}

namespace droplora::train {

// The prompt's ids. templ alpaca|llama2|chatml|plain renders `prompt` as the
// user's turn and keeps everything before the assistant's (empty) answer;
// "none" or "" is the raw text after BOS (when the tokenizer adds one).
// `where` names the template setting in errors ("--template").
std::vector<int64_t> build_prompt_ids(const data::Tokenizer& tokenizer, const std::string& prompt,
                                      const std::string& templ, const std::string& where);

struct PreviewResult {
    std::string base;     // the base model's greedy continuation
    std::string adapted;  // with the adapter; empty when no adapter was given
};

// Greedy continuations (up to max_new_tokens, stopping at EOS) of the base
// model in model_dir and of the same model with the PEFT adapter in adapter_dir
// (skipped when adapter_dir is empty). Device "auto", as `droplora generate`.
// Throws Error naming the folder or setting that is wrong.
PreviewResult generate_preview(const std::string& model_dir, const std::string& adapter_dir, const std::string& prompt,
                               const std::string& templ, int max_new_tokens);

struct AdapterScore {
    double loss = 0;         // mean cross-entropy per response token of the file
    double perplexity = 0;   // exp(loss)
    double exact_match = 0;  // share of greedy answers equal to the reference
    int64_t examples = 0;
};

// The model with the adapter on a data file (train/task_eval.h's evaluate_dataset):
// format auto|alpaca|chat|completion, templ as in training.
AdapterScore score_adapter(const std::string& model_dir, const std::string& adapter_dir, const std::string& data_path,
                           const std::string& format, const std::string& templ, int64_t max_seq_len,
                           int64_t max_new_tokens);

// Frees the cached model (e.g. before a training run needs the memory).
void clear_preview_cache();

}  // namespace droplora::train
