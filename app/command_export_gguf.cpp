#include "command_export_gguf.h"

#include <iostream>

#include "cli_args.h"
#include "common/error.h"
#include "export/gguf_export.h"

namespace droplora::app {

bool is_gguf_export(const CommandArgs& argv) {
    for (size_t i = 0; i < argv.size(); ++i) {
        std::string v;
        if (argv[i] == "--format" && i + 1 < argv.size()) v = argv[i + 1];
        if (argv[i].rfind("--format=", 0) == 0) v = argv[i].substr(9);
        if (v == "gguf" || v == "gguf-lora") return true;
    }
    return false;
}

std::string gguf_export_help() {
    return "GGUF, for llama.cpp and Ollama (docs/gguf.md):\n"
           "  droplora export (--run RUN_DIR | --checkpoint DIR) --format gguf-lora --out DIR [--force]\n"
           "  droplora export (--run RUN_DIR | --checkpoint DIR | --model MODEL_DIR) --format gguf --out DIR\n"
           "                  [--gguf-type f32|f16|bf16|q8_0] [--force]\n"
           "gguf-lora: DIR/adapter.gguf, a llama.cpp LoRA adapter (llama-cli -m BASE.gguf --lora DIR/adapter.gguf).\n"
           "gguf:      DIR/model.gguf, base + adapter merged, with the vocabulary and chat template;\n"
           "           2-D weights in --gguf-type (default f16), norms f32. --model converts a base model\n"
           "           folder (the base a GGUF adapter is applied to). Smaller quantizations: llama-quantize.\n"
           "An Ollama Modelfile is written beside each. The file is read back and compared tensor by tensor\n"
           "with what was meant; the check is printed and a mismatch exits non-zero. --out must be new or\n"
           "empty; --force replaces an earlier GGUF export there.\n";
}

int run_gguf_export(const CommandArgs& argv) {
    Args args(argv, {"run", "checkpoint", "model", "format", "out", "gguf-type"}, {"force"});
    const std::string format = args.require("format");
    if (args.has("run") + args.has("checkpoint") + args.has("model") != 1)
        fail("export", "give exactly one of --run, --checkpoint and --model");
    exports::GgufExportOptions o;
    o.replace = args.has("force");
    const std::string type = args.get("gguf-type", "f16");
    if (!io::parse_ggml_type(type, &o.type)) fail("--gguf-type", "must be f32, f16, bf16 or q8_0, got '" + type + "'");
    if (format == "gguf-lora" && args.has("gguf-type")) fail("--gguf-type", "applies to --format gguf (adapters are f32)");
    const auto log = [](const std::string& l) { std::cout << l << std::endl; };
    exports::GgufExportReport report;
    if (args.has("model")) {
        if (format != "gguf") fail("--model", "converts a base model: use it with --format gguf");
        report = exports::convert_model_to_gguf(args.get("model"), args.require("out"), o, log);
    } else {
        const std::string source = args.has("run") ? args.get("run") : args.get("checkpoint");
        report = exports::export_gguf(source, format == "gguf" ? exports::GgufKind::Model : exports::GgufKind::Adapter,
                                      args.require("out"), o, log);
    }
    if (!report.verified) fail(report.file, "verification failed: " + report.summary);
    return 0;
}

}  // namespace droplora::app
