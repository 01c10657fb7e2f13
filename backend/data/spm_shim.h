// Plain C interface of libdroplora_spm.so, the one place sentencepiece lives.
//
// Why a C interface in a dlopen-ed library: Debian's libsentencepiece carries
// its own protobuf under the same symbol names as the libprotobuf that libtorch
// links (docs/architecture.md, "Hazards"). Opened with RTLD_LOCAL | RTLD_DEEPBIND, the shim and
// sentencepiece bind to their own protobuf; only these C symbols cross over,
// so no C++ type, exception or allocator is shared with the host process.
//
// Conventions:
//   - Every function catches all C++ exceptions; none throws or aborts.
//   - Buffers are the caller's. Functions that fill one return the size it
//     needs (ids, or bytes without the terminating NUL) and write at most
//     `capacity` of it; call again with a larger buffer when the result exceeds
//     `capacity`. A negative result is an error; `err` (when not null) then
//     holds a NUL-terminated, one-line message, truncated to `err_size`.
//   - A handle is immutable after creation: concurrent calls on it are safe.
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define DROPLORA_SPM_API __attribute__((visibility("default")))
#else
#define DROPLORA_SPM_API
#endif

// Bumped on any change to the functions below; the loader refuses a shim whose
// droplora_spm_abi_version() differs (a stale build next to a new executable).
#define DROPLORA_SPM_ABI_VERSION 2

#ifdef __cplusplus
extern "C" {
#endif

typedef struct DroploraSpm DroploraSpm;

DROPLORA_SPM_API int32_t droplora_spm_abi_version(void);

// Loads a sentencepiece model file; null on failure (message in `err`).
DROPLORA_SPM_API DroploraSpm* droplora_spm_create(const char* model_path, char* err, size_t err_size);
DROPLORA_SPM_API void droplora_spm_destroy(DroploraSpm* spm);

// sentencepiece's Encode(text) → ids, exactly as `spm_encode --output_format=id`
// (no BOS/EOS). `text` is `text_len` bytes, need not be NUL-terminated.
DROPLORA_SPM_API int64_t droplora_spm_encode(const DroploraSpm* spm, const char* text, size_t text_len, int32_t* ids,
                                             size_t capacity, char* err, size_t err_size);

// sentencepiece's Decode(ids) → UTF-8 text into `out` (NUL-terminated when it fits).
// An id outside [0, piece_size) is an error.
DROPLORA_SPM_API int64_t droplora_spm_decode(const DroploraSpm* spm, const int32_t* ids, size_t count, char* out,
                                             size_t capacity, char* err, size_t err_size);

// The piece of `id` into `out` (NUL-terminated when it fits); −1 when `id` is out of range.
DROPLORA_SPM_API int64_t droplora_spm_id_to_piece(const DroploraSpm* spm, int32_t id, char* out, size_t capacity);

DROPLORA_SPM_API int32_t droplora_spm_piece_size(const DroploraSpm* spm);
// The model's reserved ids; −1 where the model defines none.
DROPLORA_SPM_API int32_t droplora_spm_bos_id(const DroploraSpm* spm);
DROPLORA_SPM_API int32_t droplora_spm_eos_id(const DroploraSpm* spm);
DROPLORA_SPM_API int32_t droplora_spm_pad_id(const DroploraSpm* spm);
DROPLORA_SPM_API int32_t droplora_spm_unk_id(const DroploraSpm* spm);

// The score of `id` (unigram log-probability or BPE merge rank); 0 when `id` is out of range.
DROPLORA_SPM_API float droplora_spm_score(const DroploraSpm* spm, int32_t id);
// The piece type of `id` as the ModelProto numbers it: 1 normal, 2 unknown,
// 3 control, 4 user-defined, 5 unused, 6 byte; −1 when `id` is out of range.
DROPLORA_SPM_API int32_t droplora_spm_piece_type(const DroploraSpm* spm, int32_t id);
// The normalizer's add_dummy_prefix and remove_extra_whitespaces flags (0/1);
// returns 0, or −1 with a message in `err` when the model cannot be read.
DROPLORA_SPM_API int32_t droplora_spm_normalizer_flags(const DroploraSpm* spm, int32_t* add_dummy_prefix,
                                                       int32_t* remove_extra_whitespaces, char* err, size_t err_size);

#ifdef __cplusplus
}  // extern "C"
#endif
