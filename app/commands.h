// The droplora subcommands. Each takes its arguments (after the subcommand
// name), prints to stdout, throws droplora::Error on failure (main prints it
// as one line on stderr and exits 1), and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace droplora::app {

using CommandArgs = std::vector<std::string>;

int run_inspect(const CommandArgs& args);
int run_eval(const CommandArgs& args);
int run_train(const CommandArgs& args);
int run_export(const CommandArgs& args);
int run_bench(const CommandArgs& args);
int run_generate(const CommandArgs& args);
int run_tokenize(const CommandArgs& args);
int run_data(const CommandArgs& args);

bool wants_help(const CommandArgs& args);

}  // namespace droplora::app
