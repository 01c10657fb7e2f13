// Tokenizer: finds and opens libdroplora_spm.so once per process, then talks to
// sentencepiece only through the shim's C functions (see tokenizer.h for why).
#include "data/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

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
#include "data/spm_shim.h"

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
                    resolve(lib, "droplora_spm_unk_id", &api.unk_id, api, path);
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

// An optional JSON object file of the model folder: absent → nullopt; unreadable or malformed → Error.
std::optional<json> read_json_object(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), "cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    json j;
    try {
        j = json::parse(ss.str());
    } catch (const json::exception& e) {
        fail(file.string(), std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object()) fail(file.string(), "expected a JSON object, got " + std::string(j.type_name()));
    return j;
}

std::optional<bool> get_bool(const json& j, const char* key, const fs::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) fail(file.string(), std::string(key) + " must be true or false, got " + it->dump());
    return it->get<bool>();
}

// bos/eos ids: an int, or (eos in newer configs) a list of ints whose first is the tokenizer's.
std::optional<int64_t> get_token_id(const json& j, const char* key, const fs::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();
    fail(file.string(), std::string(key) + " must be a token id, got " + it->dump());
}

std::string error_text(const char* err) {
    return err[0] != '\0' ? std::string(err) : "unknown shim error";
}

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    const fs::path model_file = is_dir ? fs::path(path) / "tokenizer.model" : fs::path(path);
    if (!fs::exists(model_file, ec)) {
        fail(model_file.string(),
             is_dir ? "not found (the folder needs the sentencepiece tokenizer.model)" : "not found");
    }
    if (fs::is_directory(model_file, ec)) fail(model_file.string(), "is a folder, expected a sentencepiece model file");

    const ShimApi& api = shim();
    if (api.create == nullptr) fail(api.error_where, api.error_what);

    std::shared_ptr<Tokenizer> tok(new Tokenizer());
    tok->model_path_ = model_file.string();
    char err[512] = {0};
    tok->handle_ = api.create(tok->model_path_.c_str(), err, sizeof err);
    if (tok->handle_ == nullptr) fail(tok->model_path_, error_text(err));

    DroploraSpm* spm = as_spm(tok->handle_);
    const int64_t vocab = api.piece_size(spm);
    tok->bos_id_ = api.bos_id(spm);
    tok->eos_id_ = api.eos_id(spm);
    tok->pad_id_ = api.pad_id(spm);
    tok->unk_id_ = api.unk_id(spm);

    std::string bos_source = tok->model_path_, eos_source = tok->model_path_;
    if (is_dir) {
        const fs::path tok_config = fs::path(path) / "tokenizer_config.json";
        if (auto j = read_json_object(tok_config)) {
            if (auto v = get_bool(*j, "add_bos_token", tok_config)) tok->add_bos_ = *v;
            if (auto v = get_bool(*j, "add_eos_token", tok_config)) tok->add_eos_ = *v;
        }
        // config.json's ids win over the model's (what generation and the embeddings were trained with).
        const fs::path model_config = fs::path(path) / "config.json";
        if (auto j = read_json_object(model_config)) {
            for (auto [key, slot, source] : {std::tuple{"bos_token_id", &tok->bos_id_, &bos_source},
                                             std::tuple{"eos_token_id", &tok->eos_id_, &eos_source}}) {
                auto id = get_token_id(*j, key, model_config);
                if (!id) continue;
                if (*id < 0 || *id >= vocab) {
                    fail(model_config.string(), std::string(key) + " " + std::to_string(*id) +
                                                    " is outside the tokenizer's vocabulary [0, " +
                                                    std::to_string(vocab) + ")");
                }
                *slot = *id;
                *source = model_config.string();
            }
        }
    }
    if (tok->add_bos_ && tok->bos_id_ < 0) fail(bos_source, "add_bos_token is on but no BOS token is defined");
    if (tok->add_eos_ && tok->eos_id_ < 0) fail(eos_source, "add_eos_token is on but no EOS token is defined");
    return tok;
}

Tokenizer::~Tokenizer() {
    if (handle_ != nullptr) shim().destroy(as_spm(handle_));
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
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
    std::vector<int64_t> pieces = encode(text);
    std::vector<int64_t> out;
    out.reserve(pieces.size() + 2);
    if (add_bos_) out.push_back(bos_id_);
    out.insert(out.end(), pieces.begin(), pieces.end());
    if (add_eos_) out.push_back(eos_id_);
    return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
    const ShimApi& api = shim();
    const int64_t vocab = vocab_size();
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
    const ShimApi& api = shim();
    const int64_t vocab = vocab_size();
    if (id < 0 || id >= vocab) {
        fail(model_path_,
             "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
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
    return shim().piece_size(as_spm(handle_));
}

}  // namespace droplora::data
