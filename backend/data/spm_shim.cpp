// libdroplora_spm.so: sentencepiece behind the C interface of spm_shim.h.
// Built with hidden visibility; only the DROPLORA_SPM_API functions are exported.
#include "data/spm_shim.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

struct DroploraSpm {
    sentencepiece::SentencePieceProcessor processor;
    int32_t piece_size = 0;
};

namespace {

// Copies a message into the caller's error buffer as one NUL-terminated line.
void write_error(char* err, size_t err_size, const std::string& message) {
    if (err == nullptr || err_size == 0) return;
    size_t n = std::min(message.size(), err_size - 1);
    for (size_t i = 0; i < n; ++i) err[i] = (message[i] == '\n' || message[i] == '\r') ? ' ' : message[i];
    err[n] = '\0';
}

// Copies `text` into the caller's buffer when it fits (with its NUL); returns the size it needs.
int64_t write_text(const std::string& text, char* out, size_t capacity) {
    if (out != nullptr && text.size() < capacity) {
        std::memcpy(out, text.data(), text.size());
        out[text.size()] = '\0';
    }
    return static_cast<int64_t>(text.size());
}

std::string describe_current_exception() {
    try {
        throw;
    } catch (const std::bad_alloc&) {
        return "out of memory";
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown C++ exception";
    }
}

// The reserved-id lookups go through sentencepiece's string maps; even those stay inside the boundary.
template <typename Get>
int32_t reserved_id(const DroploraSpm* spm, Get get) {
    if (spm == nullptr) return -1;
    try {
        return get(spm->processor);
    } catch (...) {
        return -1;
    }
}

}  // namespace

extern "C" {

int32_t droplora_spm_abi_version(void) {
    return DROPLORA_SPM_ABI_VERSION;
}

DroploraSpm* droplora_spm_create(const char* model_path, char* err, size_t err_size) {
    try {
        if (model_path == nullptr) {
            write_error(err, err_size, "no model path given");
            return nullptr;
        }
        auto spm = std::make_unique<DroploraSpm>();
        const auto status = spm->processor.Load(model_path);
        if (!status.ok()) {
            write_error(err, err_size, "not a sentencepiece model (" + status.ToString() + ")");
            return nullptr;
        }
        spm->piece_size = spm->processor.GetPieceSize();
        if (spm->piece_size <= 0) {
            write_error(err, err_size, "sentencepiece model has no pieces");
            return nullptr;
        }
        return spm.release();
    } catch (...) {
        write_error(err, err_size, "loading the sentencepiece model failed: " + describe_current_exception());
        return nullptr;
    }
}

void droplora_spm_destroy(DroploraSpm* spm) {
    delete spm;
}

int64_t droplora_spm_encode(const DroploraSpm* spm, const char* text, size_t text_len, int32_t* ids, size_t capacity,
                            char* err, size_t err_size) {
    try {
        if (spm == nullptr || (text == nullptr && text_len > 0)) {
            write_error(err, err_size, "encode: null handle or text");
            return -1;
        }
        std::vector<int> pieces;
        const auto status = spm->processor.Encode(absl::string_view(text_len > 0 ? text : "", text_len), &pieces);
        if (!status.ok()) {
            write_error(err, err_size, "encode failed: " + status.ToString());
            return -1;
        }
        if (ids != nullptr && pieces.size() <= capacity) std::copy(pieces.begin(), pieces.end(), ids);
        return static_cast<int64_t>(pieces.size());
    } catch (...) {
        write_error(err, err_size, "encode failed: " + describe_current_exception());
        return -1;
    }
}

int64_t droplora_spm_decode(const DroploraSpm* spm, const int32_t* ids, size_t count, char* out, size_t capacity,
                            char* err, size_t err_size) {
    try {
        if (spm == nullptr || (ids == nullptr && count > 0)) {
            write_error(err, err_size, "decode: null handle or ids");
            return -1;
        }
        std::vector<int> pieces(ids, ids + count);
        // sentencepiece indexes its piece table unchecked; an id out of range must stop here.
        for (int id : pieces) {
            if (id < 0 || id >= spm->piece_size) {
                write_error(err, err_size,
                            "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                std::to_string(spm->piece_size) + ")");
                return -1;
            }
        }
        std::string text;
        const auto status = spm->processor.Decode(pieces, &text);
        if (!status.ok()) {
            write_error(err, err_size, "decode failed: " + status.ToString());
            return -1;
        }
        return write_text(text, out, capacity);
    } catch (...) {
        write_error(err, err_size, "decode failed: " + describe_current_exception());
        return -1;
    }
}

int64_t droplora_spm_id_to_piece(const DroploraSpm* spm, int32_t id, char* out, size_t capacity) {
    try {
        if (spm == nullptr || id < 0 || id >= spm->piece_size) return -1;
        return write_text(spm->processor.IdToPiece(id), out, capacity);
    } catch (...) {
        return -1;
    }
}

int32_t droplora_spm_piece_size(const DroploraSpm* spm) {
    return spm != nullptr ? spm->piece_size : 0;
}

int32_t droplora_spm_bos_id(const DroploraSpm* spm) {
    return reserved_id(spm, [](const auto& p) { return p.bos_id(); });
}
int32_t droplora_spm_eos_id(const DroploraSpm* spm) {
    return reserved_id(spm, [](const auto& p) { return p.eos_id(); });
}
int32_t droplora_spm_pad_id(const DroploraSpm* spm) {
    return reserved_id(spm, [](const auto& p) { return p.pad_id(); });
}
int32_t droplora_spm_unk_id(const DroploraSpm* spm) {
    return reserved_id(spm, [](const auto& p) { return p.unk_id(); });
}

}  // extern "C"
