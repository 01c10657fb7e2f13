// Tokenizer: finds and opens libdroplora_spm.so once per process, then talks to
// sentencepiece only through the shim's C functions (see tokenizer.h for why).
#include "data/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/install_paths.h"
#include "data/hf_tokenizer.h"
#include "data/spm_shim.h"
#include "data/spm_vocab.h"

namespace droplora::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kShimName = "libdroplora_spm.so";

// The shim's entry points, resolved once. `error_where`/`error_what` say why the
// shim is unusable; every Tokenizer::load in the process then fails with them.
struct ShimApi {
    std::string error_where, error_what;
    decltype(&droplora_spm_create) create = nullptr;
    decltype(&droplora_spm_destroy) destroy = nullptr;
    decltype(&droplora_spm_encode) encode = nullptr;
    decltype(&droplora_spm_decode) decode = nullptr;
    decltype(&droplora_spm_id_to_piece) id_to_piece = nullptr;
    decltype(&droplora_spm_piece_size) piece_size = nullptr;
    decltype(&droplora_spm_bos_id) bos_id = nullptr;
    decltype(&droplora_spm_eos_id) eos_id = nullptr;
    decltype(&droplora_spm_pad_id) pad_id = nullptr;
    decltype(&droplora_spm_unk_id) unk_id = nullptr;
    decltype(&droplora_spm_score) score = nullptr;
    decltype(&droplora_spm_piece_type) piece_type = nullptr;
    decltype(&droplora_spm_normalizer_flags) normalizer_flags = nullptr;
};

std::string executable_dir() {
    std::string buf(4096, '\0');
    ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size());
    if (n <= 0 || static_cast<size_t>(n) >= buf.size()) return {};
    buf.resize(static_cast<size_t>(n));
    return fs::path(buf).parent_path().string();
}

const char* shim_env() {
    const char* env = std::getenv("DROPLORA_SPM_LIB");
    return env != nullptr && *env != '\0' ? env : nullptr;
}

// Search order: $DROPLORA_SPM_LIB alone when set; else next to the executable,
// then <exe>/../lib, then the installed package's private folder (common/install_paths.h),
// then this build's library folder.
std::vector<std::string> shim_candidates() {
    if (const char* env = shim_env(); env != nullptr) return {env};
    std::vector<std::string> out;
    if (const std::string dir = executable_dir(); !dir.empty()) {
        out.push_back(dir + "/" + kShimName);
        out.push_back(dir + "/../lib/" + kShimName);
    }
    if (const std::string dir = common::private_lib_dir(); !dir.empty()) out.push_back(dir + "/" + kShimName);
#ifdef DROPLORA_SPM_BUILD_DIR
    out.push_back(std::string(DROPLORA_SPM_BUILD_DIR) + "/" + kShimName);
#endif
    return out;
}

template <typename Fn>
bool resolve(void* lib, const char* name, Fn* slot, ShimApi& api, const std::string& path) {
    dlerror();
    *slot = reinterpret_cast<Fn>(dlsym(lib, name));
    if (*slot != nullptr) return true;
    api.error_where = path;
    api.error_what = std::string("has no symbol ") + name + ": not the droplora_spm shim, or a stale one";
    return false;
}

ShimApi open_shim() {
    ShimApi api;
    const std::vector<std::string> candidates = shim_candidates();
    // The first file that exists is the shim: a stale or broken one is reported, not skipped.
    std::string path;
    for (const auto& c : candidates) {
        if (::access(c.c_str(), F_OK) == 0) {
            path = c;
            break;
        }
    }
    if (path.empty()) {
        std::string looked;
        for (const auto& c : candidates) looked += (looked.empty() ? "" : ", ") + c;
        api.error_where = kShimName;
        api.error_what = shim_env() != nullptr
                             ? "not found at " + looked + " (from DROPLORA_SPM_LIB)"
                             : "not found (looked at " + looked + "); set DROPLORA_SPM_LIB to its path";
        return api;
    }
    dlerror();
    // RTLD_LOCAL keeps sentencepiece's protobuf out of the global namespace; RTLD_DEEPBIND makes
    // the shim and sentencepiece bind to their own protobuf before libtorch's (docs/architecture.md, "Hazards").
    // Never dlclose-d: unloading a protobuf runtime mid-process buys nothing and risks its exit hooks.
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (lib == nullptr) {
        const char* why = dlerror();
        api.error_where = path;
        api.error_what = std::string("cannot load the sentencepiece shim: ") + (why != nullptr ? why : "unknown");
        return api;
    }
    decltype(&droplora_spm_abi_version) abi_version = nullptr;
    if (!resolve(lib, "droplora_spm_abi_version", &abi_version, api, path)) return api;
    if (const int32_t v = abi_version(); v != DROPLORA_SPM_ABI_VERSION) {
        api.error_where = path;
        api.error_what = "shim ABI version " + std::to_string(v) + ", this program needs " +
                         std::to_string(DROPLORA_SPM_ABI_VERSION) + " (a stale build? rebuild the droplora_spm target)";
        return api;
    }
    const bool ok = resolve(lib, "droplora_spm_create", &api.create, api, path) &&
                    resolve(lib, "droplora_spm_destroy", &api.destroy, api, path) &&
                    resolve(lib, "droplora_spm_encode", &api.encode, api, path) &&
                    resolve(lib, "droplora_spm_decode", &api.decode, api, path) &&
                    resolve(lib, "droplora_spm_id_to_piece", &api.id_to_piece, api, path) &&
                    resolve(lib, "droplora_spm_piece_size", &api.piece_size, api, path) &&
                    resolve(lib, "droplora_spm_bos_id", &api.bos_id, api, path) &&
                    resolve(lib, "droplora_spm_eos_id", &api.eos_id, api, path) &&
                    resolve(lib, "droplora_spm_pad_id", &api.pad_id, api, path) &&
                    resolve(lib, "droplora_spm_unk_id", &api.unk_id, api, path) &&
                    resolve(lib, "droplora_spm_score", &api.score, api, path) &&
                    resolve(lib, "droplora_spm_piece_type", &api.piece_type, api, path) &&
                    resolve(lib, "droplora_spm_normalizer_flags", &api.normalizer_flags, api, path);
    if (!ok) api.create = nullptr;
    return api;
}

const ShimApi& shim() {
    static ShimApi api;
    static std::once_flag once;
    std::call_once(once, [] { api = open_shim(); });
    return api;
}

DroploraSpm* as_spm(void* handle) {
    return static_cast<DroploraSpm*>(handle);
}

std::string error_text(const char* err) {
    return err[0] != '\0' ? std::string(err) : "unknown shim error";
}

bool is_llama_style_class(const std::string& cls) {
    // transformers rebuilds the post-processor of these classes from add_bos_token / add_eos_token.
    for (const char* c : {"LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
                          "GemmaTokenizer", "GemmaTokenizerFast"})
        if (cls == c) return true;
    return false;
}

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    std::shared_ptr<Tokenizer> tok(new Tokenizer());
    if (is_dir) {
        tok->config_ = read_tokenizer_config(path);
        const fs::path spm = fs::path(path) / "tokenizer.model", hf = fs::path(path) / "tokenizer.json";
        if (fs::exists(spm, ec) || !fs::exists(hf, ec)) {
            if (!fs::exists(spm, ec))
                fail(spm.string(), "not found (the folder needs a sentencepiece tokenizer.model or a tokenizer.json)");
            tok->load_sentencepiece(path, true);
        } else {
            tok->load_tokenizer_json(hf.string(), path);
        }
    } else if (fs::path(path).extension() == ".json") {
        tok->load_tokenizer_json(path, "");
    } else {
        tok->load_sentencepiece(path, false);
    }

    // Ids outside the model's embedding table would index past it; more rows than ids is normal.
    const int64_t vocab = tok->vocab_size();
    const std::string model_config = is_dir ? (fs::path(path) / "config.json").string() : std::string();
    if (tok->config_.config_vocab_size && vocab > *tok->config_.config_vocab_size) {
        fail(model_config, "the tokenizer (" + tok->model_path_ + ") has ids up to " + std::to_string(vocab - 1) +
                               " but vocab_size is " + std::to_string(*tok->config_.config_vocab_size));
    }
    const std::string generation = is_dir ? (fs::path(path) / "generation_config.json").string() : std::string();
    auto add_stop = [&](int64_t id, const std::string& file) {
        if (id < 0 || id >= vocab)
            fail(file, "eos_token_id " + std::to_string(id) + " is outside the tokenizer's vocabulary [0, " +
                           std::to_string(vocab) + ")");
        if (std::find(tok->stop_ids_.begin(), tok->stop_ids_.end(), id) == tok->stop_ids_.end())
            tok->stop_ids_.push_back(id);
    };
    if (tok->eos_id_ >= 0) add_stop(tok->eos_id_, tok->model_path_);
    for (int64_t id : tok->config_.generation_eos_ids) add_stop(id, generation);
    for (int64_t id : tok->config_.config_eos_ids) add_stop(id, model_config);
    return tok;
}

void Tokenizer::load_sentencepiece(const std::string& path, bool is_dir) {
    std::error_code ec;
    const fs::path model_file = is_dir ? fs::path(path) / "tokenizer.model" : fs::path(path);
    if (!fs::exists(model_file, ec)) fail(model_file.string(), "not found");
    if (fs::is_directory(model_file, ec)) fail(model_file.string(), "is a folder, expected a sentencepiece model file");

    const ShimApi& api = shim();
    if (api.create == nullptr) fail(api.error_where, api.error_what);

    model_path_ = model_file.string();
    char err[512] = {0};
    handle_ = api.create(model_path_.c_str(), err, sizeof err);
    if (handle_ == nullptr) fail(model_path_, error_text(err));

    DroploraSpm* spm = as_spm(handle_);
    const int64_t vocab = api.piece_size(spm);
    bos_id_ = api.bos_id(spm);
    eos_id_ = api.eos_id(spm);
    pad_id_ = api.pad_id(spm);
    unk_id_ = api.unk_id(spm);

    std::string bos_source = model_path_, eos_source = model_path_;
    if (is_dir) {
        if (config_.add_bos_token) add_bos_ = *config_.add_bos_token;
        if (config_.add_eos_token) add_eos_ = *config_.add_eos_token;
        // config.json's ids win over the model's (what generation and the embeddings were trained with).
        const fs::path model_config = fs::path(path) / "config.json";
        for (auto [key, ids, slot, source] :
             {std::tuple{"bos_token_id", &config_.config_bos_ids, &bos_id_, &bos_source},
              std::tuple{"eos_token_id", &config_.config_eos_ids, &eos_id_, &eos_source}}) {
            if (ids->empty()) continue;
            const int64_t id = ids->front();
            if (id < 0 || id >= vocab) {
                fail(model_config.string(), std::string(key) + " " + std::to_string(id) +
                                                " is outside the tokenizer's vocabulary [0, " + std::to_string(vocab) +
                                                ")");
            }
            *slot = id;
            *source = model_config.string();
        }
    }
    if (add_bos_ && bos_id_ < 0) fail(bos_source, "add_bos_token is on but no BOS token is defined");
    if (add_eos_ && eos_id_ < 0) fail(eos_source, "add_eos_token is on but no EOS token is defined");
}

void Tokenizer::load_tokenizer_json(const std::string& file, const std::string& dir) {
    std::shared_ptr<const HfTokenizer> hf = HfTokenizer::load(file);
    hf_ = hf;
    model_path_ = file;
    const int64_t vocab = hf->vocab_size();
    const std::string tc = dir.empty() ? file : (fs::path(dir) / "tokenizer_config.json").string();
    const std::string mc = dir.empty() ? file : (fs::path(dir) / "config.json").string();

    // A named token must be one of the tokenizer's; config.json's ids stand in when no token is named.
    auto resolve_token = [&](const std::string& token, const char* what) -> int64_t {
        if (token.empty()) return -1;
        const int64_t id = hf->token_to_id(token);
        if (id < 0) fail(tc, std::string(what) + " '" + token + "' is not a token of " + file);
        return id;
    };
    auto checked = [&](int64_t id, const char* key) {
        if (id < 0 || id >= vocab)
            fail(mc, std::string(key) + " " + std::to_string(id) + " is outside the tokenizer's vocabulary [0, " +
                         std::to_string(vocab) + ")");
        return id;
    };
    bos_id_ = resolve_token(config_.bos_token, "bos_token");
    if (bos_id_ < 0 && !config_.config_bos_ids.empty()) bos_id_ = checked(config_.config_bos_ids.front(), "bos_token_id");
    eos_id_ = resolve_token(config_.eos_token, "eos_token");
    if (eos_id_ < 0 && !config_.config_eos_ids.empty()) eos_id_ = checked(config_.config_eos_ids.front(), "eos_token_id");
    pad_id_ = resolve_token(config_.pad_token, "pad_token");
    if (pad_id_ < 0 && config_.config_pad_id) pad_id_ = checked(*config_.config_pad_id, "pad_token_id");
    unk_id_ = resolve_token(config_.unk_token, "unk_token");

    hf_prefix_.assign(hf->prefix_ids().begin(), hf->prefix_ids().end());
    hf_suffix_.assign(hf->suffix_ids().begin(), hf->suffix_ids().end());
    if (is_llama_style_class(config_.tokenizer_class)) {
        const bool bos = config_.add_bos_token.value_or(true), eos = config_.add_eos_token.value_or(false);
        if (bos && bos_id_ < 0) fail(tc, "add_bos_token is on but no BOS token is defined");
        if (eos && eos_id_ < 0) fail(tc, "add_eos_token is on but no EOS token is defined");
        hf_prefix_ = bos ? std::vector<int64_t>{bos_id_} : std::vector<int64_t>{};
        hf_suffix_ = eos ? std::vector<int64_t>{eos_id_} : std::vector<int64_t>{};
    }
    // The BOS/EOS policy other code reads: what the post-processor puts around a text.
    add_bos_ = bos_id_ >= 0 && !hf_prefix_.empty() && hf_prefix_.back() == bos_id_;
    add_eos_ = eos_id_ >= 0 && !hf_suffix_.empty() && hf_suffix_.front() == eos_id_;
}

Tokenizer::~Tokenizer() {
    if (handle_ != nullptr) shim().destroy(as_spm(handle_));
}

namespace {

std::vector<int64_t> widen(const std::vector<int32_t>& ids) {
    return std::vector<int64_t>(ids.begin(), ids.end());
}

}  // namespace

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
    if (hf_) return widen(hf_->encode(text, false));
    const ShimApi& api = shim();
    char err[512] = {0};
    // Almost always enough (a piece covers at least one byte); the shim reports the exact need otherwise.
    std::vector<int32_t> ids(text.size() + 8);
    int64_t n = api.encode(as_spm(handle_), text.data(), text.size(), ids.data(), ids.size(), err, sizeof err);
    if (n > static_cast<int64_t>(ids.size())) {
        ids.resize(static_cast<size_t>(n));
        n = api.encode(as_spm(handle_), text.data(), text.size(), ids.data(), ids.size(), err, sizeof err);
    }
    if (n < 0) fail(model_path_, error_text(err));
    if (n > static_cast<int64_t>(ids.size())) fail(model_path_, "encode: the shim's id count changed between calls");
    return std::vector<int64_t>(ids.begin(), ids.begin() + n);
}

std::vector<int64_t> Tokenizer::encode_with_specials(const std::string& text) const {
    if (hf_) {
        std::vector<int64_t> out = hf_prefix_;
        const std::vector<int32_t> ids = hf_->encode(text, false);
        out.insert(out.end(), ids.begin(), ids.end());
        out.insert(out.end(), hf_suffix_.begin(), hf_suffix_.end());
        return out;
    }
    std::vector<int64_t> pieces = encode(text);
    std::vector<int64_t> out;
    out.reserve(pieces.size() + 2);
    if (add_bos_) out.push_back(bos_id_);
    out.insert(out.end(), pieces.begin(), pieces.end());
    if (add_eos_) out.push_back(eos_id_);
    return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
    const int64_t vocab = vocab_size();
    if (hf_) {
        std::vector<int32_t> narrow;
        narrow.reserve(ids.size());
        for (int64_t id : ids) {
            if (id < 0 || id >= vocab || !hf_->has_id(static_cast<int32_t>(id)))
                fail(model_path_, "cannot decode token id " + std::to_string(id) + ": not a token of the vocabulary [0, " +
                                      std::to_string(vocab) + ")");
            narrow.push_back(static_cast<int32_t>(id));
        }
        return hf_->decode(narrow);
    }
    const ShimApi& api = shim();
    std::vector<int32_t> narrow;
    narrow.reserve(ids.size());
    for (int64_t id : ids) {
        if (id < 0 || id >= vocab) {
            fail(model_path_, "cannot decode token id " + std::to_string(id) + ": outside the vocabulary [0, " +
                                  std::to_string(vocab) + ")");
        }
        narrow.push_back(static_cast<int32_t>(id));
    }
    char err[512] = {0};
    std::string text(narrow.size() * 8 + 16, '\0');
    int64_t n =
        api.decode(as_spm(handle_), narrow.data(), narrow.size(), text.data(), text.size() + 1, err, sizeof err);
    if (n > static_cast<int64_t>(text.size())) {
        text.resize(static_cast<size_t>(n));
        n = api.decode(as_spm(handle_), narrow.data(), narrow.size(), text.data(), text.size() + 1, err, sizeof err);
    }
    if (n < 0) fail(model_path_, error_text(err));
    if (n > static_cast<int64_t>(text.size())) fail(model_path_, "decode: the shim's text size changed between calls");
    text.resize(static_cast<size_t>(n));
    return text;
}

std::string Tokenizer::id_to_piece(int64_t id) const {
    const int64_t vocab = vocab_size();
    if (id < 0 || id >= vocab) {
        fail(model_path_,
             "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
    if (hf_) {
        if (!hf_->has_id(static_cast<int32_t>(id))) fail(model_path_, "no token has id " + std::to_string(id));
        return hf_->id_to_token(static_cast<int32_t>(id));
    }
    const ShimApi& api = shim();
    std::string piece(32, '\0');
    int64_t n = api.id_to_piece(as_spm(handle_), static_cast<int32_t>(id), piece.data(), piece.size() + 1);
    if (n > static_cast<int64_t>(piece.size())) {
        piece.resize(static_cast<size_t>(n));
        n = api.id_to_piece(as_spm(handle_), static_cast<int32_t>(id), piece.data(), piece.size() + 1);
    }
    if (n < 0 || n > static_cast<int64_t>(piece.size()))
        fail(model_path_, "no piece for token id " + std::to_string(id));
    piece.resize(static_cast<size_t>(n));
    return piece;
}

int64_t Tokenizer::vocab_size() const {
    if (hf_) return hf_->vocab_size();
    return shim().piece_size(as_spm(handle_));
}

std::string Tokenizer::kind() const {
    if (!hf_) return "sentencepiece";
    return hf_->byte_level() ? "tokenizer.json BPE (byte-level)" : "tokenizer.json BPE (sentencepiece-style)";
}

int64_t Tokenizer::token_to_id(const std::string& token) const {
    if (hf_) return hf_->token_to_id(token);
    // sentencepiece's shim has no reverse lookup; a scan is fine for the rare caller.
    for (int64_t id = 0, n = vocab_size(); id < n; ++id)
        if (id_to_piece(id) == token) return id;
    return -1;
}

bool Tokenizer::is_special(int64_t id) const {
    if (hf_) {
        const HfAddedToken* a = id >= 0 && id <= INT32_MAX ? hf_->added_tokens().find_id(static_cast<int32_t>(id)) : nullptr;
        return a != nullptr && a->special;
    }
    return id >= 0 && (id == bos_id_ || id == eos_id_ || id == pad_id_);
}

SpmVocab read_spm_vocab(const std::string& model_file) {
    const ShimApi& api = shim();
    if (api.create == nullptr) fail(api.error_where, api.error_what);
    char err[512] = {0};
    DroploraSpm* spm = api.create(model_file.c_str(), err, sizeof err);
    if (spm == nullptr) fail(model_file, error_text(err));
    std::unique_ptr<DroploraSpm, decltype(api.destroy)> owner(spm, api.destroy);
    SpmVocab v;
    const int32_t n = api.piece_size(spm);
    std::string piece;
    for (int32_t id = 0; id < n; ++id) {
        piece.assign(64, '\0');
        int64_t len = api.id_to_piece(spm, id, piece.data(), piece.size() + 1);
        if (len > static_cast<int64_t>(piece.size())) {
            piece.assign(static_cast<size_t>(len), '\0');
            len = api.id_to_piece(spm, id, piece.data(), piece.size() + 1);
        }
        if (len < 0 || len > static_cast<int64_t>(piece.size())) fail(model_file, "no piece for token id " + std::to_string(id));
        piece.resize(static_cast<size_t>(len));
        v.pieces.push_back(piece);
        v.scores.push_back(api.score(spm, id));
        const int32_t type = api.piece_type(spm, id);
        if (type < 1 || type > 6) fail(model_file, "token id " + std::to_string(id) + " has no known piece type");
        v.types.push_back(type);
    }
    int32_t dummy = 1, extra = 1;
    if (api.normalizer_flags(spm, &dummy, &extra, err, sizeof err) != 0) fail(model_file, error_text(err));
    v.add_dummy_prefix = dummy != 0;
    v.remove_extra_whitespaces = extra != 0;
    return v;
}

}  // namespace droplora::data
