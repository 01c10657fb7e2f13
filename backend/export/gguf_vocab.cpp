#include "export/gguf_vocab.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/hf_tokenizer.h"
#include "data/spm_vocab.h"
#include "data/tokenizer.h"

namespace droplora::exports {

namespace fs = std::filesystem;
using io::GgufValue;

namespace {

nlohmann::json read_json(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return nullptr;
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        fail(file.string(), std::string("malformed JSON: ") + e.what());
    }
}

// tokenizer.chat_template (and .NAME for named ones): chat_template.jinja, else
// tokenizer_config.json's chat_template (a string, or a list of {name, template}).
void add_chat_templates(io::GgufMetadata& kv, const fs::path& dir) {
    const fs::path jinja = dir / "chat_template.jinja";
    if (fs::exists(jinja)) {
        std::ifstream in(jinja, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        kv.emplace_back("tokenizer.chat_template", GgufValue::string(ss.str()));
        return;
    }
    const fs::path cfg_file = dir / "tokenizer_config.json";
    const auto cfg = read_json(cfg_file);
    if (!cfg.is_object() || !cfg.contains("chat_template") || cfg["chat_template"].is_null()) return;
    const auto& t = cfg["chat_template"];
    if (t.is_string()) {
        kv.emplace_back("tokenizer.chat_template", GgufValue::string(t.get<std::string>()));
        return;
    }
    if (!t.is_array()) fail(cfg_file.string(), "chat_template must be a string or a list of {name, template}");
    for (const auto& e : t) {
        if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
            !e["template"].is_string())
            fail(cfg_file.string(), "chat_template list entries need a string name and template");
        const std::string name = e["name"];
        kv.emplace_back(name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name,
                        GgufValue::string(e["template"].get<std::string>()));
    }
}

// End-of-turn pieces (Ollama's PARAMETER stop): the EOS and generation_config.json's eos ids.
std::vector<std::string> stop_pieces(const fs::path& dir, int64_t eos_id, const std::vector<std::string>& tokens) {
    std::vector<int64_t> stops = {eos_id};
    const auto gen = read_json(dir / "generation_config.json");
    if (gen.is_object() && gen.contains("eos_token_id")) {
        const auto& e = gen["eos_token_id"];
        if (e.is_number_integer()) stops.push_back(e.get<int64_t>());
        if (e.is_array())
            for (const auto& x : e)
                if (x.is_number_integer()) stops.push_back(x.get<int64_t>());
    }
    std::vector<std::string> out;
    for (int64_t id : stops) {
        if (id < 0 || id >= static_cast<int64_t>(tokens.size())) continue;
        const std::string& piece = tokens[static_cast<size_t>(id)];
        if (std::find(out.begin(), out.end(), piece) == out.end()) out.push_back(piece);
    }
    return out;
}

// The pre-tokenizer regexes of the tokenizer.json families llama.cpp knows by name
// (its convert_hf_to_gguf.py tells them apart by the ids they give; the regex is what
// makes those ids, so the two agree; docs/gguf.md, "Vocabulary").
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The special-token ids (those inside the vocabulary; −1: none) and the BOS/EOS policy, for both writers.
void add_special_tokens(io::GgufMetadata& kv, const data::Tokenizer& tok, int64_t unk, int64_t pad, int64_t vocab_size) {
    const auto id_key = [&](const char* key, int64_t id) {
        if (id >= 0 && id < vocab_size) kv.emplace_back(key, GgufValue::u32(static_cast<uint32_t>(id)));
    };
    id_key("tokenizer.ggml.bos_token_id", tok.bos_id());
    id_key("tokenizer.ggml.eos_token_id", tok.eos_id());
    id_key("tokenizer.ggml.unknown_token_id", unk);
    id_key("tokenizer.ggml.padding_token_id", pad);
    kv.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(tok.add_bos()));
    kv.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(tok.add_eos()));
}

bool is_type(const nlohmann::json& j, const char* type) {
    return j.is_object() && j.contains("type") && j["type"] == type;
}

}  // namespace

std::string llama_cpp_pre_tokenizer(const nlohmann::json& tok, const std::string& file) {
    const nlohmann::json none;
    const auto& pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : none;
    std::vector<nlohmann::json> steps;
    if (is_type(pre, "Sequence") && pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
        steps.assign(pre["pretokenizers"].begin(), pre["pretokenizers"].end());
    else if (!pre.is_null())
        steps.push_back(pre);
    const auto byte_level = [](const nlohmann::json& j, bool use_regex) {
        return is_type(j, "ByteLevel") && j.value("use_regex", true) == use_regex && !j.value("add_prefix_space", false);
    };
    if (steps.size() == 2 && is_type(steps[0], "Split") && byte_level(steps[1], false) &&
        steps[0].value("behavior", "") == "Isolated" && !steps[0].value("invert", false) &&
        steps[0].contains("pattern") && steps[0]["pattern"].is_object() && steps[0]["pattern"].contains("Regex")) {
        const auto& re = steps[0]["pattern"]["Regex"];
        if (re == kLlama3Regex) return "llama-bpe";
        if (re == kQwen2Regex) return "qwen2";
    }
    if (steps.size() == 2 && is_type(steps[0], "Digits") && steps[0].value("individual_digits", false) &&
        byte_level(steps[1], true))
        return "smollm";
    if (steps.size() == 1 && byte_level(steps[0], true)) return "gpt-2";
    const std::string shown = pre.dump();
    fail(file, "pre_tokenizer " + shown.substr(0, 160) + (shown.size() > 160 ? "…" : "") +
                   " is not one llama.cpp knows by name (Llama 3, Qwen2/3, SmolLM, GPT-2); no GGUF export");
}

GgufVocab describe_bpe_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg) {
    const fs::path dir(model_dir);
    const fs::path file = dir / "tokenizer.json";
    const auto tok = data::Tokenizer::load(model_dir);
    const data::HfTokenizer* hf = tok->hf();
    if (hf == nullptr || !hf->byte_level())
        fail(file.string(), "is not a byte-level BPE tokenizer; only those (Llama 3, Qwen, SmolLM) have a GGUF "
                            "export from tokenizer.json (a sentencepiece-style one needs its tokenizer.model)");
    const nlohmann::json j = read_json(file);
    const std::string pre = llama_cpp_pre_tokenizer(j, file.string());
    const auto& norm = j.contains("normalizer") ? j["normalizer"] : nlohmann::json();
    // NFC (Qwen2/3): llama.cpp does not normalise, which changes nothing on NFC text.
    if (!norm.is_null() && !is_type(norm, "NFC"))
        fail(file.string(), "normalizer " + norm.dump().substr(0, 120) + " has no llama.cpp equivalent; no GGUF export");

    const int64_t n = hf->vocab_size();
    if (n > cfg.vocab_size)
        fail(file.string(), "has ids up to " + std::to_string(n - 1) + " but the model's vocab_size is " +
                                std::to_string(cfg.vocab_size));
    // Every embedding row gets a token; rows no token names are unused placeholders, as
    // llama.cpp's converter writes them.
    std::vector<std::string> tokens(static_cast<size_t>(cfg.vocab_size));
    std::vector<int32_t> types(static_cast<size_t>(cfg.vocab_size), 1);  // normal
    for (int64_t i = 0; i < cfg.vocab_size; ++i) {
        const std::string t = i < n ? hf->id_to_token(static_cast<int32_t>(i)) : std::string();
        if (t.empty()) {
            tokens[static_cast<size_t>(i)] = "[PAD" + std::to_string(i) + "]";
            types[static_cast<size_t>(i)] = 5;  // unused
            continue;
        }
        tokens[static_cast<size_t>(i)] = t;
    }
    for (const auto& a : hf->added_tokens().tokens())
        if (a.id >= 0 && a.id < cfg.vocab_size) types[static_cast<size_t>(a.id)] = a.special ? 3 : 4;  // control : user

    std::vector<std::string> merges;
    const auto& m = j["model"].contains("merges") ? j["model"]["merges"] : nlohmann::json::array();
    merges.reserve(m.size());
    for (const auto& e : m) {
        if (e.is_string()) {
            merges.push_back(e.get<std::string>());
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
            const std::string a = e[0], b = e[1];
            // A byte-level token never holds a space (it is "Ġ"), so "a b" is unambiguous.
            if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos)
                fail(file.string(), "merge [\"" + a + "\", \"" + b + "\"] holds a space; GGUF cannot write it");
            merges.push_back(a + " " + b);
        } else {
            fail(file.string(), "model.merges entries must be \"a b\" strings or [a, b] pairs");
        }
    }

    GgufVocab out;
    auto& kv = out.kv;
    kv.emplace_back("tokenizer.ggml.model", GgufValue::string("gpt2"));
    kv.emplace_back("tokenizer.ggml.pre", GgufValue::string(pre));
    kv.emplace_back("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
    kv.emplace_back("tokenizer.ggml.token_type", GgufValue::i32_array(types));
    kv.emplace_back("tokenizer.ggml.merges", GgufValue::string_array(merges));
    const auto& tc = tok->config();
    const int64_t pad = cfg.pad_token_id ? *cfg.pad_token_id : tc.pad_token.empty() ? -1 : tok->token_to_id(tc.pad_token);
    // add_bos: what the post-processor puts before a text (Llama 3: <|begin_of_text|>; Qwen: nothing).
    add_special_tokens(kv, *tok, /*unk=*/-1, pad, cfg.vocab_size);
    add_chat_templates(kv, dir);
    out.stop_tokens = stop_pieces(dir, tok->eos_id(), tokens);
    return out;
}

GgufVocab describe_spm_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg) {
    const fs::path dir(model_dir);
    auto tok = data::Tokenizer::load(model_dir);
    const data::SpmVocab v = data::read_spm_vocab(tok->model_path());
    const int64_t n = static_cast<int64_t>(v.pieces.size());
    if (n > cfg.vocab_size)
        fail(tok->model_path(), "has " + std::to_string(n) + " pieces but the model's vocab_size is " +
                                    std::to_string(cfg.vocab_size));
    // Embedding rows beyond the pieces (vocabularies padded to a multiple) get unused
    // placeholders, as llama.cpp's converter writes them.
    std::vector<std::string> tokens = v.pieces;
    std::vector<float> scores = v.scores;
    std::vector<int32_t> types = v.types;
    for (int64_t i = n; i < cfg.vocab_size; ++i) {
        tokens.push_back("[PAD" + std::to_string(i) + "]");
        scores.push_back(-10000.0f);
        types.push_back(5);  // unused
    }
    const fs::path cfg_file = dir / "tokenizer_config.json";
    const auto tcfg = read_json(cfg_file);
    if (tcfg.is_object() && tcfg.contains("added_tokens_decoder") && tcfg["added_tokens_decoder"].is_object()) {
        for (const auto& [id_text, entry] : tcfg["added_tokens_decoder"].items()) {
            int64_t id = -1;
            try {
                id = std::stoll(id_text);
            } catch (...) {
            }
            const std::string content = entry.is_object() && entry.contains("content") && entry["content"].is_string()
                                            ? entry["content"].get<std::string>()
                                            : "";
            if (id < 0 || id >= n || v.pieces[static_cast<size_t>(id)] != content)
                fail(cfg_file.string(), "added token " + id_text + " '" + content +
                                            "' is not a piece of tokenizer.model; such vocabularies have no GGUF export");
        }
    }

    GgufVocab out;
    auto& kv = out.kv;
    kv.emplace_back("tokenizer.ggml.model", GgufValue::string("llama"));
    kv.emplace_back("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
    kv.emplace_back("tokenizer.ggml.scores", GgufValue::f32_array(scores));
    kv.emplace_back("tokenizer.ggml.token_type", GgufValue::i32_array(types));
    add_special_tokens(kv, *tok, tok->unk_id(), cfg.pad_token_id ? *cfg.pad_token_id : tok->pad_id(), cfg.vocab_size);
    kv.emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::boolean(v.add_dummy_prefix));
    kv.emplace_back("tokenizer.ggml.remove_extra_whitespaces", GgufValue::boolean(v.remove_extra_whitespaces));
    add_chat_templates(kv, dir);

    out.stop_tokens = stop_pieces(dir, tok->eos_id(), v.pieces);
    return out;
}

GgufVocab describe_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg) {
    const fs::path dir(model_dir);
    if (fs::exists(dir / "tokenizer.model")) return describe_spm_vocabulary(model_dir, cfg);
    if (fs::exists(dir / "tokenizer.json")) return describe_bpe_vocabulary(model_dir, cfg);
    fail(model_dir, "has neither tokenizer.model nor tokenizer.json; a GGUF export needs the model's vocabulary");
}

}  // namespace droplora::exports
