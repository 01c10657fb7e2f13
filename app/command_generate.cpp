// droplora generate: a prompt (optionally through a chat/instruction template)
// continued by the model, with or without a PEFT adapter.
#include <iostream>

#include <torch/torch.h>

#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "data/tokenizer.h"
#include "adapters/inference.h"
#include "io/checkpoint_files.h"
#include "model/generate.h"
#include "model/loader.h"
#include "train/preview.h"

namespace droplora::app {

int run_generate(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora generate --model DIR [--adapter DIR] --prompt TEXT [--input TEXT]\n"
                     "                        [--template T] [--max-new-tokens N] [--temperature T]\n"
                     "                        [--top-p P] [--seed S] [--device D] [--precision P]\n"
                     "\n"
                     "--precision auto|fp32|bf16: the base weights' dtype, as in training (auto: bf16 on a GPU\n"
                     "and on a CPU with AVX512-BF16 or AMX, fp32 elsewhere; the adapter computes in fp32).\n"
                     "--template alpaca|llama2|chatml|plain renders TEXT as the user's turn (default: none,\n"
                     "the raw text after BOS); --input is an alpaca row's input (the \"### Input:\" block).\n"
                     "temperature 0 (default) is greedy decoding.\n";
        return 0;
    }
    Args args(argv, {"model", "adapter", "prompt", "input", "template", "max-new-tokens", "temperature", "top-p",
                     "seed", "device", "precision"});
    const std::string model_dir = args.require("model");
    io::require_model_folder(model_dir);
    const std::string prompt = args.require("prompt");
    auto loaded = adapters::load_for_inference(model_dir, args.get("device", "auto"), args.get("adapter"), "--device",
                                               args.get("precision", "auto"));
    auto& tok = loaded.tokenizer;
    auto& net = loaded.net;
    const auto ids =
        train::build_prompt_ids(*tok, prompt, args.get("input"), args.get("template", "none"), "--template");

    model::GenerateOptions o;
    o.max_new_tokens = args.get_int("max-new-tokens", 128);
    o.temperature = args.get_double("temperature", 0.0);
    o.top_p = args.get_double("top-p", 1.0);
    o.seed = static_cast<uint64_t>(args.get_int("seed", 0));
    o.eos_id = tok->eos_id();
    o.stop_ids = tok->stop_ids();
    if (o.max_new_tokens < 1) fail("--max-new-tokens", "must be ≥ 1");
    if (o.temperature < 0) fail("--temperature", "must be ≥ 0");
    if (!(o.top_p > 0 && o.top_p <= 1)) fail("--top-p", "must be in (0, 1]");
    const auto out = model::generate(*net, ids, o);
    std::cout << tok->decode(out) << std::endl;
    return 0;
}

}  // namespace droplora::app
