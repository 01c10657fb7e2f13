// Training data: files people already have, rendered through a chat/instruction
// template into token ids with loss labels (docs/formats.md §2).
//
// Formats (one JSON object per row; .jsonl one per line, .json an array):
//   alpaca      {"instruction", "input"?, "output"}
//   chat        {"messages": [{"role": system|user|assistant, "content"}]}
//   completion  {"prompt", "completion"}
//   text        {"text"}                  and plain .txt (blank-line separated documents)
// Templates: alpaca | llama2 | chatml | plain | llama3 built in, and model: the
// model's own chat template (data/chat_template.h, docs/chat-templates.md).
//
// A rendered example is a list of segments, each prompt (label -100 unless
// train_on_prompt) or response (labels = ids). Segments are tokenized one by
// one and concatenated, so the prompt/response boundary is exact; BOS starts
// the sequence when the tokenizer's policy says so, EOS ends each response.
// This header is torch-free (the GUI's preview uses it); batching is in data/batcher.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace droplora::data {

class Tokenizer;
class ChatTemplate;

constexpr int64_t kIgnoreIndex = -100;

enum class Format { Auto, Alpaca, Chat, Completion, Text };
enum class Template { Alpaca, Llama2, ChatML, Plain, Llama3, Model };

Format parse_format(const std::string& s, const std::string& where);      // throws on unknown
Template parse_template(const std::string& s, const std::string& where);
const char* format_name(Format f);
const char* template_name(Template t);

struct Message {
    std::string role;     // system | user | assistant
    std::string content;
};

// One row of a data file, normalised to a conversation.
struct Row {
    std::string source;             // "file.jsonl:12" (or "file.txt:#3" for a text document)
    std::vector<Message> messages;  // alpaca/completion become user (+ system) + assistant
    std::string text;               // text format: the whole document, messages empty
    // Alpaca rows also keep instruction and input apart, so the alpaca template
    // can render stanford_alpaca's "### Input:" block (messages hold them joined
    // by a blank line for the other templates).
    bool alpaca = false;
    std::string instruction;
    std::string input;
};

struct Segment {
    std::string text;
    bool is_response = false;  // counts for the loss
    bool bos_before = false;   // a BOS id precedes the text (llama2's later turns)
    bool eos_after = false;    // an EOS id follows the text (the end of a response)
};

struct Example {
    std::string source;
    std::vector<int64_t> input_ids;
    std::vector<int64_t> labels;   // kIgnoreIndex where the loss does not count
    bool truncated = false;
};

struct LoadOptions {
    Format format = Format::Auto;
    bool skip_bad_rows = false;
};

struct LoadedRows {
    std::vector<Row> rows;
    Format format = Format::Auto;  // the detected (or given) format
    int64_t skipped = 0;           // bad rows skipped (skip_bad_rows)
    std::vector<std::string> skipped_reasons;  // first few "file:line: reason"
};

// Reads a data file. A malformed row throws Error("file:line: what is wrong")
// unless skip_bad_rows, in which case it is counted and skipped.
LoadedRows load_rows(const std::string& path, const LoadOptions& opts);

// Template rendering (text level), e.g. for the GUI preview. Template::Model
// needs the chat template: use the RenderOptions overload.
std::vector<Segment> render(const Row& row, Template t);

struct RenderOptions {
    Template templ = Template::Alpaca;
    int64_t max_seq_len = 512;
    bool train_on_prompt = false;
    // Template::Model: the model's own chat template. With chat_files_only the
    // template is used for chat-format files only and `templ` for the others
    // (data.template left at its default, see resolve_template).
    std::shared_ptr<const ChatTemplate> chat_template;
    bool chat_files_only = false;
};

// The model's chat template as segments: the text apply_chat_template gives
// for the whole conversation, with the tokens each assistant message adds
// (rendered up to that turn with and without it, its end-of-turn marker
// included) as response segments (docs/chat-templates.md).
std::vector<Segment> render(const Row& row, const RenderOptions& opts);

// Applies data.template to `opts` for the model folder `model_dir`: "model"
// needs the folder's chat template (an error when it has none); the default
// ("alpaca") with a folder that has one renders chat files with it and keeps
// alpaca for the others. Returns what is in force, for the log.
std::string resolve_template(const std::string& templ, const std::string& model_dir, RenderOptions* opts);

// Tokenizes a rendered row; truncates to max_seq_len (truncated = true).
Example tokenize(const Row& row, const Tokenizer& tok, const RenderOptions& opts);

struct Dataset {
    std::vector<Example> examples;
    Format format = Format::Auto;
    int64_t skipped_rows = 0;
    int64_t truncated = 0;      // examples cut at max_seq_len
    int64_t without_labels = 0; // examples dropped because no response token survived truncation
};

Dataset build_dataset(const std::string& path, const Tokenizer& tok, const LoadOptions& load,
                      const RenderOptions& render);

// A permutation of 0..n-1 that is the same on every platform (mt19937_64,
// Fisher–Yates with rejection sampling; std::shuffle's output is not portable).
std::vector<size_t> shuffled_indices(size_t n, uint64_t seed);

// Deterministic split of examples into train/validation (seeded shuffle, then
// the last `fraction` go to validation; at least one each when fraction > 0 and
// there are ≥ 2 examples).
void split_validation(const std::vector<Example>& all, double fraction, uint64_t seed,
                      std::vector<Example>* train, std::vector<Example>* val);

}  // namespace droplora::data
