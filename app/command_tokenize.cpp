// droplora tokenize: a model's tokenizer on some text, the ids Hugging Face's
// tokenizer(text)["input_ids"] gives (special tokens as the post-processor adds them;
// docs/tokenizers.md).
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "common/text.h"
#include "data/tokenizer.h"

namespace droplora::app {
namespace {

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail(path, "cannot read");
    return ss.str();
}

// Lines split at "\n" only (a "\r" stays in its line); the newline that ends the file ends
// the last line rather than starting an empty one.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

}  // namespace

int run_tokenize(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora tokenize --model DIR (--text TEXT | --text-file F [--whole-file])\n"
                     "                        [--no-specials] [--json]\n"
                     "\n"
                     "Tokenizes with the model's tokenizer.model or tokenizer.json. Each line of F (split at\n"
                     "\"\\n\" only; a \"\\r\" stays in its line) is one text, or the whole file with --whole-file.\n"
                     "Special tokens are added as the tokenizer's post-processor (or BOS/EOS policy) says,\n"
                     "unless --no-specials. --json prints one {\"ids\": [...]} line per text; otherwise each\n"
                     "id with its piece, for a person to read.\n";
        return 0;
    }
    Args args(argv, {"model", "text", "text-file"}, {"whole-file", "json", "no-specials"});
    const std::string model_dir = args.require("model");
    if (args.has("text") == args.has("text-file")) fail("--text / --text-file", "give exactly one of them");
    if (args.has("whole-file") && !args.has("text-file")) fail("--whole-file", "needs --text-file");
    if (!args.positional().empty()) fail(args.positional().front(), "unexpected argument (see --help)");

    std::vector<std::string> texts;
    if (args.has("text")) {
        texts.push_back(args.get("text"));
    } else {
        const std::string content = read_text_file(args.get("text-file"));
        if (args.has("whole-file")) texts.push_back(content);
        else texts = split_lines(content);
    }

    auto tok = data::Tokenizer::load(model_dir);
    const bool json_out = args.has("json"), specials = !args.has("no-specials");
    if (!json_out) {
        std::cout << "tokenizer: " << tok->kind() << " (" << tok->model_path() << "), " << tok->vocab_size()
                  << " ids\n";
    }
    std::size_t total = 0;
    for (std::size_t t = 0; t < texts.size(); ++t) {
        const std::vector<int64_t> ids = specials ? tok->encode_with_specials(texts[t]) : tok->encode(texts[t]);
        total += ids.size();
        if (json_out) {
            std::cout << nlohmann::json{{"ids", ids}}.dump() << "\n";
            continue;
        }
        std::cout << "text " << t + 1 << ": " << ids.size() << " ids\n";
        for (int64_t id : ids) {
            std::cout << "  " << id << "\t" << escape_control_chars(tok->id_to_piece(id)) << "\t\""
                      << escape_control_chars(tok->decode({id}), true) << "\"\n";
        }
    }
    if (!json_out && texts.size() > 1) std::cout << texts.size() << " texts, " << total << " ids\n";
    return 0;
}

}  // namespace droplora::app
