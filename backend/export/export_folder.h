// Where an export comes from and where it goes, for every export format
// (PEFT, merged, GGUF): the checkpoint a source names, and the rules that an
// export never deletes what it did not create.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace droplora::exports {

// A run folder's newest checkpoint that verifies (each newer damaged one is
// reported through `say` and skipped), or the checkpoint folder itself.
std::string resolve_checkpoint(const std::string& source, const std::function<void(const std::string&)>& say);

// A file name an export of ours writes; a folder holding nothing else is one of our exports.
bool is_export_file(const std::string& name);

// `out` may not be empty, the file system's root, the current folder or a
// folder above it, or the source (or a folder above it); an existing non-empty
// `out` is refused unless `replace` and it holds nothing but an export's
// files. Throws Error naming `out` and what to do.
void check_output_folder(const std::string& out_dir, const std::string& source, bool replace);

// The same rules, asked before an export (the workbench asks the person before
// replacing): true when `out` holds an earlier export that `replace` would
// overwrite, false when it is new or empty; an Error for every folder refused
// even with `replace`.
bool output_folder_holds_export(const std::string& out_dir, const std::string& source);

// Holds the lock of the run folder that `source` (a run or a checkpoint folder)
// belongs to while an export reads it; nullptr when it belongs to no run folder.
std::shared_ptr<void> lock_source_run(const std::string& source, const std::string& checkpoint);

}  // namespace droplora::exports
