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
    // From the serialized ModelProto (the public API has no user-defined test or normalizer flags).
    std::vector<int32_t> piece_types;
    bool proto_read = false;
    bool add_dummy_prefix = true;           // NormalizerSpec defaults
    bool remove_extra_whitespaces = true;
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

// Protocol-buffer wire format, just enough for ModelProto.pieces[].type (field 1 → 3) and
// ModelProto.normalizer_spec (field 3) → add_dummy_prefix (3), remove_extra_whitespaces (4).
class Wire {
public:
    Wire(const char* p, size_t n) : p_(reinterpret_cast<const uint8_t*>(p)), n_(n) {}
    bool done() const { return i_ >= n_; }
    bool varint(uint64_t* v) {
        *v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (i_ >= n_) return false;
            const uint8_t b = p_[i_++];
            *v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return true;
        }
        return false;
    }
    // Reads one field: its number, wire type, and for length-delimited fields the bytes.
    bool field(uint32_t* number, uint32_t* wire, uint64_t* value, Wire* sub) {
        uint64_t key;
        if (!varint(&key)) return false;
        *number = static_cast<uint32_t>(key >> 3);
        *wire = static_cast<uint32_t>(key & 7);
        switch (*wire) {
            case 0: return varint(value);
            case 1: return skip(8);
            case 5: return skip(4);
            case 2: {
                uint64_t len;
                if (!varint(&len) || len > n_ - i_) return false;
                *sub = Wire(reinterpret_cast<const char*>(p_ + i_), static_cast<size_t>(len));
                i_ += static_cast<size_t>(len);
                return true;
            }
            default: return false;
        }
    }

private:
    bool skip(size_t k) {
        if (k > n_ - i_) return false;
        i_ += k;
        return true;
    }
    const uint8_t* p_;
    size_t n_;
    size_t i_ = 0;
};

bool read_model_proto(const std::string& bytes, DroploraSpm* spm) {
    Wire top(bytes.data(), bytes.size());
    std::vector<int32_t> types;
    while (!top.done()) {
        uint32_t number, wire;
        uint64_t value = 0;
        Wire sub(nullptr, 0);
        if (!top.field(&number, &wire, &value, &sub)) return false;
        if (number == 1 && wire == 2) {
            int32_t type = 1;  // SentencePiece.Type NORMAL by default
            while (!sub.done()) {
                uint32_t n2, w2;
                uint64_t v2 = 0;
                Wire s2(nullptr, 0);
                if (!sub.field(&n2, &w2, &v2, &s2)) return false;
                if (n2 == 3 && w2 == 0) type = static_cast<int32_t>(v2);
            }
            types.push_back(type);
        } else if (number == 3 && wire == 2) {
            while (!sub.done()) {
                uint32_t n2, w2;
                uint64_t v2 = 0;
                Wire s2(nullptr, 0);
                if (!sub.field(&n2, &w2, &v2, &s2)) return false;
                if (n2 == 3 && w2 == 0) spm->add_dummy_prefix = v2 != 0;
                if (n2 == 4 && w2 == 0) spm->remove_extra_whitespaces = v2 != 0;
            }
        }
    }
    if (static_cast<int32_t>(types.size()) != spm->piece_size) return false;
    spm->piece_types = std::move(types);
    return true;
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
        const auto bytes = spm->processor.serialized_model_proto();
        spm->proto_read = read_model_proto(std::string(bytes.data(), bytes.size()), spm.get());
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

float droplora_spm_score(const DroploraSpm* spm, int32_t id) {
    try {
        if (spm == nullptr || id < 0 || id >= spm->piece_size) return 0.0f;
        return spm->processor.GetScore(id);
    } catch (...) {
        return 0.0f;
    }
}

int32_t droplora_spm_piece_type(const DroploraSpm* spm, int32_t id) {
    try {
        if (spm == nullptr || id < 0 || id >= spm->piece_size) return -1;
        if (spm->proto_read) return spm->piece_types[static_cast<size_t>(id)];
        const auto& p = spm->processor;
        return p.IsUnknown(id) ? 2 : p.IsControl(id) ? 3 : p.IsUnused(id) ? 5 : p.IsByte(id) ? 6 : 1;
    } catch (...) {
        return -1;
    }
}

int32_t droplora_spm_normalizer_flags(const DroploraSpm* spm, int32_t* add_dummy_prefix,
                                      int32_t* remove_extra_whitespaces, char* err, size_t err_size) {
    if (spm == nullptr || !spm->proto_read) {
        write_error(err, err_size, "the model's normalizer settings could not be read");
        return -1;
    }
    if (add_dummy_prefix != nullptr) *add_dummy_prefix = spm->add_dummy_prefix ? 1 : 0;
    if (remove_extra_whitespaces != nullptr) *remove_extra_whitespaces = spm->remove_extra_whitespaces ? 1 : 0;
    return 0;
}

}  // extern "C"
