// droplora data preview: the CLI twin of the Data panel — each row of a data
// file rendered through the template in force, its ids and which of them the
// loss counts (docs/chat-templates.md).
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/tokenizer.h"

namespace droplora::app {
namespace {

const char* kDataUsage =
    "usage: droplora data preview --model DIR --data FILE [--template T] [--format F] [--rows N]\n"
    "                             [--max-seq-len N] [--json]\n"
    "Renders the first N rows (default 3) of FILE as training sees them. T: alpaca (default: the\n"
    "model's own chat template for chat files when the model has one), llama2, chatml, plain,\n"
    "llama3 or model. --json prints one {\"text\", \"ids\", \"loss_mask\"} object per row\n"
    "(loss_mask[i] = 1 when ids[i] is a loss target).\n";

std::string segments_text(const std::vector<data::Segment>& segments) {
    std::string text;
    for (const data::Segment& s : segments) text += s.text;
    return text;
}

int data_preview(const Args& args) {
    const std::string model_dir = args.require("model");
    const std::string path = args.require("data");
    const long long rows_wanted = args.get_int("rows", 3);
    if (rows_wanted < 1) fail("--rows", "must be at least 1");

    data::RenderOptions render;
    render.max_seq_len = args.get_int("max-seq-len", 4096);
    const std::string in_force = data::resolve_template(args.get("template", "alpaca"), model_dir, &render);
    data::LoadOptions load;
    load.format = data::parse_format(args.get("format", "auto"), "--format");
    const data::LoadedRows rows = data::load_rows(path, load);
    if (render.chat_files_only)
        render.templ = rows.format == data::Format::Chat ? data::Template::Model : data::Template::Alpaca;
    const auto tok = data::Tokenizer::load(model_dir);

    const bool json = args.has("json");
    if (!json) std::cout << "template: " << in_force << "\nformat: " << data::format_name(rows.format) << "\n";
    const size_t n = std::min(rows.rows.size(), static_cast<size_t>(rows_wanted));
    for (size_t i = 0; i < n; ++i) {
        const data::Row& row = rows.rows[i];
        const std::string text = segments_text(data::render(row, render));
        const data::Example ex = data::tokenize(row, *tok, render);
        std::vector<int> mask;
        for (int64_t l : ex.labels) mask.push_back(l == data::kIgnoreIndex ? 0 : 1);
        if (json) {
            std::cout << nlohmann::json{{"text", text}, {"ids", ex.input_ids}, {"loss_mask", mask}}.dump(
                             -1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
            continue;
        }
        std::cout << "\n== " << row.source << (ex.truncated ? " (truncated)" : "") << "\n" << text << "\n--\n";
        // Each id with its piece; loss targets marked with '*'.
        for (size_t k = 0; k < ex.input_ids.size(); ++k) {
            std::cout << (mask[k] ? "*" : " ") << ex.input_ids[k] << " "
                      << nlohmann::json(tok->id_to_piece(ex.input_ids[k]))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
        }
    }
    return 0;
}

}  // namespace

int run_data(const CommandArgs& argv) {
    if (argv.empty() || wants_help(argv)) {
        std::cout << kDataUsage;
        return argv.empty() ? 2 : 0;
    }
    if (argv[0] != "preview") fail("data", "unknown subcommand '" + argv[0] + "' (expected preview)");
    const CommandArgs rest(argv.begin() + 1, argv.end());
    Args args(rest, {"model", "data", "template", "format", "rows", "max-seq-len"}, {"json"});
    if (!args.positional().empty()) fail("data preview", "unexpected argument '" + args.positional()[0] + "'");
    return data_preview(args);
}

}  // namespace droplora::app
