// droplora export: a run's adapter as a PEFT folder or a merged model, verified.
#include <iostream>

#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "command_export_gguf.h"
#include "export/export.h"

namespace droplora::app {

int run_export(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora export (--run RUN_DIR | --checkpoint DIR) --format peft|merged --out DIR [--force]\n"
                     "\n"
                     "peft:   adapter_config.json + adapter_model.safetensors, as Hugging Face PEFT writes them\n"
                     "        (PeftModel.from_pretrained loads it; DropLoRA's masks are training-only).\n"
                     "merged: a Hugging Face model folder with W + s·B·A in the base model's dtype.\n"
                     "Every export is loaded back and compared with the in-memory model on a held-out\n"
                     "batch; the check is printed and a mismatch exits non-zero.\n"
                     "--out must be a new or empty folder; --force replaces an earlier export (a folder holding only\n"
                     "an export's files). The run folder, its parents and the current folder are always refused.\n"
                     "\n" << gguf_export_help();
        return 0;
    }
    if (is_gguf_export(argv)) return run_gguf_export(argv);
    Args args(argv, {"run", "checkpoint", "format", "out"}, {"force"});
    if (args.has("run") == args.has("checkpoint")) fail("export", "give exactly one of --run and --checkpoint");
    const std::string source = args.has("run") ? args.get("run") : args.get("checkpoint");
    const std::string format = args.require("format");
    if (format != "peft" && format != "merged") fail("--format", "must be peft or merged, got '" + format + "'");
    const auto report = exports::export_adapter(source, format == "peft" ? exports::ExportFormat::Peft : exports::ExportFormat::Merged,
                                           args.has("out") ? args.get("out") : args.require("out"), [](const std::string& l) { std::cout << l << "\n"; },
                                           exports::ExportOptions{args.has("force")});
    if (!report.verified) fail(report.out_dir, "verification failed: " + report.summary);
    return 0;
}

}  // namespace droplora::app
