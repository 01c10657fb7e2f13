// Where the programs find their own files, and where run folders go when the
// run file sits somewhere read-only. Everything is found from the running
// executable, so the same binary works from build/bin and installed (e.g.
// /usr/bin with /usr/share/droplora-workbench); docs/packaging.md has the layout.
// Torch-free: the CLI, the workbench and the tokenizer all use it.
#pragma once

#include <string>

namespace droplora::common {

// The project version (CMake project(VERSION)), e.g. "0.1.0".
std::string version();

// The folder of the running executable (/proc/self/exe), "" when unknown.
std::string executable_dir();

// The installed data folder (<exe>/../share/droplora-workbench: models/, datasets/,
// configs/), "" when the executable is not in an installed layout (e.g. build/bin).
std::string installed_data_dir();

// The installed private library folder (<exe>/../lib[/<arch>]/droplora-workbench),
// "" when absent.
std::string private_lib_dir();

// The demo run file: the installed configs/demo.yaml, else the one of the
// source tree this binary was built from, else "".
std::string demo_run_file();

// $XDG_DATA_HOME/droplora-workbench/runs (default ~/.local/share/droplora-workbench/runs).
std::string user_runs_dir();

// A run file that lives in a read-only place (inside installed_data_dir(), or
// whose run folder `output` would land where this user cannot write) keeps its
// run folder in user_runs_dir()/<last name of output> instead: rewrites
// `output` and returns the one-line note for the log; returns "" and leaves
// `output` alone otherwise.
std::string place_run_folder(const std::string& run_file, std::string& output);

}  // namespace droplora::common
