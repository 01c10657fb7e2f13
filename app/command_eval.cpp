// droplora inspect / eval: look at a model folder, score a text file or an instruction dataset.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "adapters/inference.h"
#include "io/checkpoint_files.h"
#include "model/loader.h"
#include "model/model_info.h"
#include "model/scoring.h"
#include "train/task_eval.h"

namespace droplora::app {

bool wants_help(const CommandArgs& args) {
    for (const auto& a : args)
        if (a == "--help" || a == "-h") return true;
    return false;
}

int run_inspect(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora inspect MODEL_DIR [--json]\n"
                     "Reads config.json and the safetensors headers (no weights are loaded).\n";
        return 0;
    }
    Args args(argv, {}, {"json"});
    if (args.positional().size() != 1) fail("inspect", "expects exactly one MODEL_DIR (see --help)");
    const auto info = model::inspect_model(args.positional()[0]);
    if (args.has("json")) {
        nlohmann::json j = {{"dir", info.dir},
                            {"architecture", info.architecture},
                            {"parameters", info.parameters},
                            {"dtypes", info.dtype_parameters},
                            {"vocab_size", info.vocab_size},
                            {"hidden_size", info.hidden_size},
                            {"intermediate_size", info.intermediate_size},
                            {"layers", info.layers},
                            {"heads", info.heads},
                            {"kv_heads", info.kv_heads},
                            {"head_dim", info.head_dim},
                            {"context_length", info.context_length},
                            {"rope", info.rope},
                            {"tied_embeddings", info.tied_embeddings},
                            {"tokenizer", info.has_tokenizer},
                            {"tokenizer_files", info.tokenizer_files},
                            {"bos_token", info.bos_token},
                            {"eos_token", info.eos_token},
                            {"pad_token", info.pad_token},
                            {"chat_template", info.chat_template}};
        std::cout << j.dump() << "\n";
    } else {
        std::cout << model::describe(info);
    }
    return 0;
}

namespace {

// The model (and adapter) the eval options name, on the chosen device.
model::LlamaModel load_for_eval(const Args& args, const std::string& model_dir) {
    return adapters::load_for_inference(model_dir, args.get("device", "auto"), args.get("adapter"), "--device",
                                        args.get("precision", "auto"))
        .net;
}

int eval_text_file(const Args& args, const std::string& model_dir) {
    const std::string text_path = args.require("text-file");
    std::ifstream in(text_path, std::ios::binary);
    if (!in) fail(text_path, "cannot open the text file");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();

    auto tokenizer = data::Tokenizer::load(model_dir);
    std::vector<int64_t> ids = tokenizer->encode(text);
    if (tokenizer->add_bos()) ids.insert(ids.begin(), tokenizer->bos_id());
    if (ids.size() < 2) fail(text_path, "has too little text to score (fewer than 2 tokens)");

    auto net = load_for_eval(args, model_dir);
    for (int64_t id : ids)
        if (id < 0 || id >= net->config().vocab_size)
            fail(model_dir, "tokenizer produced id " + std::to_string(id) + " beyond vocab_size " +
                                std::to_string(net->config().vocab_size));

    const auto score = model::score_ids(*net, ids, args.get_int("window", 0));
    nlohmann::json j = {{"loss", score.loss()}, {"tokens", score.tokens}};
    std::cout << j.dump() << std::endl;
    return 0;
}

int eval_dataset(const Args& args, const std::string& model_dir) {
    const std::string data_path = args.require("data");
    train::TaskEvalOptions o;
    o.format = data::parse_format(args.get("format", "auto"), "--format");
    o.templ = data::parse_template(args.get("template", "alpaca"), "--template");
    o.max_seq_len = args.get_int("max-seq-len", 0);
    o.max_new_tokens = args.get_int("max-new-tokens", 64);
    o.generate = !args.has("no-generate");
    if (o.max_new_tokens < 1) fail("--max-new-tokens", "must be ≥ 1");
    if (args.has("max-seq-len") && o.max_seq_len < 2) fail("--max-seq-len", "must be ≥ 2");

    auto tokenizer = data::Tokenizer::load(model_dir);
    auto net = load_for_eval(args, model_dir);
    const auto r = train::evaluate_dataset(*net, *tokenizer, data_path, o);
    using Json = nlohmann::ordered_json;  // the keys in the order the help text lists them
    Json j = {{"loss", r.loss},
              {"perplexity", r.perplexity},
              {"tokens", r.tokens},
              {"exact_match", o.generate ? Json(r.exact_match()) : Json(nullptr)},
              {"matched", r.matched},
              {"examples", r.examples}};
    if (r.prompt_too_long) j["prompt_too_long"] = r.prompt_too_long;
    if (r.truncated) j["truncated"] = r.truncated;
    std::cout << j.dump() << std::endl;
    return 0;
}

}  // namespace

int run_eval(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout
            << "usage: droplora eval --model DIR [--adapter DIR] --text-file FILE [--device D] [--window N]\n"
               "       droplora eval --model DIR [--adapter DIR] --data FILE [--template T] [--format F]\n"
               "                     [--max-new-tokens N] [--max-seq-len N] [--no-generate] [--device D]\n"
               "       (both) [--precision auto|fp32|bf16]: the base weights' dtype, as in training (auto: bf16\n"
               "       on a GPU and on a CPU with AVX512-BF16 or AMX, fp32 elsewhere)\n"
               "\n"
               "--text-file: tokenizes FILE's whole text with BOS prepended (per the model's tokenizer\n"
               "policy) and prints one JSON line {\"loss\": L, \"tokens\": N}: L is the mean next-token\n"
               "cross-entropy over the N predicted tokens.\n"
               "Texts longer than the context C (max_position_embeddings, or --window) are scored\n"
               "in consecutive windows of C+1 tokens overlapping by one token, so every token\n"
               "after the first is predicted exactly once; the context restarts at each window.\n"
               "\n"
               "--data: an instruction dataset (alpaca, chat or completion rows; .jsonl/.json), each\n"
               "row rendered through --template (default alpaca) as training renders it. Prints one JSON\n"
               "line {\"loss\", \"perplexity\", \"tokens\", \"exact_match\", \"matched\", \"examples\"}: the\n"
               "mean cross-entropy over the response tokens (EOS included) and its exp, and the share\n"
               "of rows whose greedy answer (at most --max-new-tokens, default 64) equals the reference\n"
               "response, both trimmed of surrounding whitespace. --no-generate scores the loss only\n"
               "(exact_match is null). Rows are scored up to --max-seq-len tokens (default: the context).\n"
               "\n"
               "--adapter applies a Hugging Face PEFT LoRA folder: W + s·B·A, s = lora_alpha/r\n"
               "(lora_alpha/√r with use_rslora). An adapter that does not fit the model is an error.\n";
        return 0;
    }
    Args args(argv, {"model", "adapter", "text-file", "data", "device", "precision", "window", "template", "format",
                     "max-new-tokens", "max-seq-len"},
              {"no-generate"});
    const std::string model_dir = args.require("model");
    io::require_model_folder(model_dir);
    if (args.has("text-file") == args.has("data")) fail("eval", "give exactly one of --text-file and --data");
    if (args.has("text-file")) {
        for (const char* opt : {"template", "format", "max-new-tokens", "max-seq-len", "no-generate"})
            if (args.has(opt)) fail("--" + std::string(opt), "applies to --data, not --text-file");
        return eval_text_file(args, model_dir);
    }
    if (args.has("window")) fail("--window", "applies to --text-file, not --data");
    return eval_dataset(args, model_dir);
}

}  // namespace droplora::app
