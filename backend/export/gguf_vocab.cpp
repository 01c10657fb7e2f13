#include "export/gguf_vocab.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
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

}  // namespace

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
    auto id_key = [&](const char* key, int64_t id) {
        if (id >= 0) kv.emplace_back(key, GgufValue::u32(static_cast<uint32_t>(id)));
    };
    id_key("tokenizer.ggml.bos_token_id", tok->bos_id());
    id_key("tokenizer.ggml.eos_token_id", tok->eos_id());
    id_key("tokenizer.ggml.unknown_token_id", tok->unk_id());
    id_key("tokenizer.ggml.padding_token_id", cfg.pad_token_id ? *cfg.pad_token_id : tok->pad_id());
    kv.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(tok->add_bos()));
    kv.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(tok->add_eos()));
    kv.emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::boolean(v.add_dummy_prefix));
    kv.emplace_back("tokenizer.ggml.remove_extra_whitespaces", GgufValue::boolean(v.remove_extra_whitespaces));
    add_chat_templates(kv, dir);

    // End-of-turn tokens: the EOS, and generation_config.json's eos ids.
    std::vector<int64_t> stops = {tok->eos_id()};
    const auto gen = read_json(dir / "generation_config.json");
    if (gen.is_object() && gen.contains("eos_token_id")) {
        const auto& e = gen["eos_token_id"];
        if (e.is_number_integer()) stops.push_back(e.get<int64_t>());
        if (e.is_array())
            for (const auto& x : e)
                if (x.is_number_integer()) stops.push_back(x.get<int64_t>());
    }
    for (int64_t id : stops) {
        if (id < 0 || id >= n) continue;
        const std::string& piece = v.pieces[static_cast<size_t>(id)];
        if (std::find(out.stop_tokens.begin(), out.stop_tokens.end(), piece) == out.stop_tokens.end())
            out.stop_tokens.push_back(piece);
    }
    return out;
}

GgufVocab describe_vocabulary(const std::string& model_dir, const model::LlamaConfig& cfg) {
    const fs::path dir(model_dir);
    if (fs::exists(dir / "tokenizer.model")) return describe_spm_vocabulary(model_dir, cfg);
    if (fs::exists(dir / "tokenizer.json"))
        fail((dir / "tokenizer.json").string(),
             "tokenizer.json (BPE) vocabularies have no GGUF export yet; only sentencepiece tokenizer.model");
    fail(model_dir, "has no tokenizer.model; a GGUF export needs the model's vocabulary");
}

}  // namespace droplora::exports
