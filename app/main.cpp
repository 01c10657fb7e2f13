// droplora: the headless front end of DropLoRA Workbench.
// Errors thrown anywhere below are caught here and printed as one line.
#include <cstring>
#include <iostream>
#include <map>

#include <c10/util/Exception.h>

#include "commands.h"
#include "common/error.h"
#include "common/install_paths.h"
#include "train/resources.h"

namespace {

const char* kUsage =
    "droplora — fine-tune LLaMA-family models with DropLoRA\n"
    "\n"
    "usage: droplora <command> [options]   (droplora <command> --help for details)\n"
    "       droplora --version\n"
    "\n"
    "commands:\n"
    "  inspect MODEL_DIR             architecture, parameters, dtypes, vocab, layers, context\n"
    "  eval --model DIR --text-file F   mean next-token loss of a text, as JSON\n"
    "  train --config RUN.yaml       train a (Drop)LoRA adapter; --set key=value, --resume RUN_DIR\n"
    "  export --run DIR --format peft|merged --out DIR   export a trained adapter\n"
    "  generate --model DIR --prompt TEXT   sample a continuation (KV cache)\n"
    "  bench                         tokens/s and memory of training steps\n"
    "  tokenize --model DIR --text TEXT   token ids of a text (--text-file F, --json)\n"
    "  data preview --model DIR --data FILE   rendered rows, their ids and loss tokens\n";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::cout << "droplora " << droplora::common::version() << "\n";
        return 0;
    }
    using droplora::app::CommandArgs;
    const std::map<std::string, int (*)(const CommandArgs&)> commands = {
        {"inspect", droplora::app::run_inspect}, {"eval", droplora::app::run_eval},
        {"train", droplora::app::run_train},     {"export", droplora::app::run_export},
        {"bench", droplora::app::run_bench},     {"generate", droplora::app::run_generate},
        {"tokenize", droplora::app::run_tokenize},
        {"data", droplora::app::run_data},
    };
    auto it = commands.find(argv[1]);
    if (it == commands.end()) {
        std::cerr << "droplora: unknown command '" << argv[1] << "' (see droplora --help)\n";
        return 2;
    }
    CommandArgs args(argv + 2, argv + argc);
    try {
        droplora::train::use_all_cores();
        return it->second(args);
    } catch (const droplora::Error& e) {
        std::cerr << "droplora " << argv[1] << ": error: " << e.what() << "\n";
    } catch (const c10::Error& e) {
        std::cerr << "droplora " << argv[1] << ": torch error: " << e.what_without_backtrace() << "\n";
    } catch (const std::bad_alloc&) {
        std::cerr << "droplora " << argv[1] << ": error: out of memory\n";
    } catch (const std::exception& e) {
        std::cerr << "droplora " << argv[1] << ": error: " << e.what() << "\n";
    }
    return 1;
}
