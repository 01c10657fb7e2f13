#include "model/model_info.h"

#include <filesystem>
#include <sstream>
#include <vector>

#include "data/tokenizer_config.h"
#include "io/checkpoint_files.h"
#include "model/llama_config.h"

namespace droplora::model {

namespace {

// The tokenizer files, and what data::read_tokenizer_config (the one reader of
// tokenizer_config.json and chat_template.jinja) finds in them.
void read_tokenizer_facts(const std::string& dir, ModelInfo& info) {
    namespace fs = std::filesystem;
    const fs::path d(dir);
    const bool json = fs::exists(d / "tokenizer.json"), spm = fs::exists(d / "tokenizer.model");
    info.tokenizer_files = json && spm ? "tokenizer.json + tokenizer.model" : json ? "tokenizer.json" : spm ? "tokenizer.model" : "";
    info.has_tokenizer = json || spm;
    const data::TokenizerConfig tc = data::read_tokenizer_config(dir);
    info.bos_token = tc.bos_token;
    info.eos_token = tc.eos_token;
    info.pad_token = tc.pad_token;
    if (tc.has_chat_template()) info.chat_template = fs::path(tc.chat_template_source).filename().string();
}

}  // namespace

ModelInfo inspect_model(const std::string& dir) {
    namespace fs = std::filesystem;
    ModelInfo info;
    info.dir = dir;
    const LlamaConfig cfg = LlamaConfig::from_file((fs::path(dir) / "config.json").string());
    const io::CheckpointFiles ckpt = io::CheckpointFiles::open(dir);
    for (const auto& file : ckpt.files()) {
        for (const auto& t : file->tensors()) {
            info.parameters += t.numel();
            info.dtype_parameters[io::dtype_name(t.dtype)] += t.numel();
        }
    }
    info.architecture = cfg.architecture;
    info.vocab_size = cfg.vocab_size;
    info.hidden_size = cfg.hidden_size;
    info.intermediate_size = cfg.intermediate_size;
    info.layers = cfg.num_hidden_layers;
    info.heads = cfg.num_attention_heads;
    info.kv_heads = cfg.num_key_value_heads;
    info.head_dim = cfg.head_dim;
    info.context_length = cfg.max_position_embeddings;
    info.rope = cfg.rope_description();
    info.tied_embeddings = cfg.tie_word_embeddings;
    std::vector<std::string> notes;
    if (cfg.qkv_bias) notes.push_back(cfg.o_bias ? "q/k/v/o bias" : "q/k/v bias");
    if (cfg.qk_norm) notes.push_back("q/k norm");
    if (cfg.sliding_window) notes.push_back("sliding window " + std::to_string(*cfg.sliding_window));
    for (const auto& n : notes) info.attention_notes += (info.attention_notes.empty() ? "" : ", ") + n;
    read_tokenizer_facts(dir, info);
    return info;
}

std::string describe(const ModelInfo& info) {
    std::ostringstream s;
    auto human = [](int64_t n) {
        std::ostringstream o;
        o.precision(3);
        if (n >= 1000000000) o << n / 1e9 << "B";
        else if (n >= 1000000) o << n / 1e6 << "M";
        else if (n >= 1000) o << n / 1e3 << "K";
        else o << n;
        return o.str();
    };
    s << "model:          " << info.dir << "\n"
      << "architecture:   " << info.architecture << "\n"
      << "parameters:     " << human(info.parameters) << " (" << info.parameters << ")\n"
      << "dtypes:        ";
    for (const auto& [dtype, count] : info.dtype_parameters) s << " " << dtype << " " << human(count);
    s << "\n"
      << "vocab:          " << info.vocab_size << "\n"
      << "tokenizer:      " << (info.has_tokenizer ? info.tokenizer_files : "none (no tokenizer.json or tokenizer.model!)")
      << "\n";
    if (!info.bos_token.empty() || !info.eos_token.empty())
        s << "special tokens: bos " << (info.bos_token.empty() ? "–" : info.bos_token) << ", eos "
          << (info.eos_token.empty() ? "–" : info.eos_token) << ", pad " << (info.pad_token.empty() ? "–" : info.pad_token)
          << "\n";
    s << "chat template:  " << (info.chat_template.empty() ? "none (data.template must name one)" : info.chat_template)
      << "\n"
      << "layers:         " << info.layers << "\n"
      << "hidden:         " << info.hidden_size << " (intermediate " << info.intermediate_size << ")\n"
      << "attention:      " << info.heads << " heads, " << info.kv_heads << " key/value heads, head_dim "
      << info.head_dim << (info.attention_notes.empty() ? "" : "; " + info.attention_notes) << "\n"
      << "context:        " << info.context_length << "\n"
      << "rope:           " << info.rope << "\n"
      << "embeddings:     " << (info.tied_embeddings ? "tied" : "untied") << "\n";
    return s.str();
}

}  // namespace droplora::model
