// GGUF v3 files, llama.cpp's model and adapter format (docs/gguf.md): a writer
// and a validating reader. Torch-free, fuzzed and run under AddressSanitizer.
//
// Layout (all little-endian):
//   "GGUF" | u32 version (3) | u64 tensor count | u64 key/value count
//   key/value pairs: string key | u32 value type | value
//   tensor infos:    string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset
//   padding to general.alignment (default 32) | tensor data, each tensor at an
//   aligned offset relative to the data section's start.
//   string = u64 byte length + bytes (no NUL); array = u32 element type + u64 count + elements.
// ne[] is GGML's dimension order: ne[0] is the fastest-varying (innermost)
// dimension, i.e. the PyTorch shape reversed.
//
// The reader checks every length, count, offset and size against the file size
// before anything is read; every error names the file (and the key or tensor).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace droplora::files {
class MappedFile;
}

namespace droplora::io {

// Metadata value types (the numbers are the file's).
enum class GgufType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
    String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);

// Tensor types (ggml's numbers). The reader knows the sizes of these; the
// encoder/decoder below handle F32, F16, BF16 and Q8_0.
enum class GgmlType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};
const char* ggml_type_name(GgmlType t);  // "F32", "Q8_0", ...
bool parse_ggml_type(const std::string& lower_name, GgmlType* out);  // "f32" | "f16" | "bf16" | "q8_0"
bool ggml_type_known(uint32_t t);
int64_t ggml_block_size(GgmlType t);  // values per block (1 for plain types, 32 for Q8_0, ...)
int64_t ggml_type_size(GgmlType t);   // bytes per block

// One metadata value. Scalars are one-element arrays of their own type
// (is_array false); integers and bools are kept in `ints` (U64 as its bit
// pattern), floats in `floats`, strings in `strings`.
struct GgufValue {
    GgufType type = GgufType::U32;
    GgufType elem_type = GgufType::U32;  // the element type; == type for scalars
    bool is_array = false;
    std::vector<int64_t> ints;
    std::vector<double> floats;
    std::vector<std::string> strings;

    static GgufValue u32(uint32_t v);
    static GgufValue i32(int32_t v);
    static GgufValue u64(uint64_t v);
    static GgufValue f32(float v);
    static GgufValue boolean(bool v);
    static GgufValue string(std::string v);
    static GgufValue scalar(GgufType t, double v);  // any numeric or bool scalar type
    static GgufValue string_array(std::vector<std::string> v);
    static GgufValue f32_array(std::vector<float> v);
    static GgufValue i32_array(std::vector<int32_t> v);
    static GgufValue array(GgufType elem, std::vector<int64_t> ints, std::vector<double> floats = {});

    size_t size() const;  // elements (1 for scalars)
    // Checked accessors for scalars; throw Error naming `where` on a type mismatch.
    int64_t as_int(const std::string& where) const;  // any integer type
    double as_float(const std::string& where) const;  // F32/F64 (integers too)
    bool as_bool(const std::string& where) const;
    const std::string& as_string(const std::string& where) const;
    bool operator==(const GgufValue& o) const;
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

struct GgufTensorInfo {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> ne;  // GGML order (PyTorch shape reversed)
    uint64_t offset = 0;      // relative to the data section
    uint64_t nbytes = 0;
    int64_t numel() const;
    std::vector<int64_t> torch_shape() const;  // ne reversed
};

// An open, validated GGUF file, memory-mapped read-only (or held in memory).
class GgufFile {
public:
    static std::unique_ptr<GgufFile> open(const std::string& path);
    // Parses bytes held in memory (tests, fuzzing); `where` names them in errors.
    static std::unique_ptr<GgufFile> from_bytes(std::string bytes, const std::string& where);
    ~GgufFile();
    GgufFile(const GgufFile&) = delete;
    GgufFile& operator=(const GgufFile&) = delete;

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }  // file order
    const GgufValue* find(const std::string& key) const;
    const GgufValue& at(const std::string& key) const;  // throws Error naming file + key
    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // file order
    const GgufTensorInfo* find_tensor(const std::string& name) const;
    const uint8_t* data(const GgufTensorInfo& t) const { return bytes_ + data_start_ + t.offset; }
    // The tensor's values as floats (F32/F16/BF16/Q8_0; Error for other types).
    std::vector<float> values(const GgufTensorInfo& t) const;

private:
    GgufFile() = default;
    void parse();
    std::string path_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::map<std::string, size_t> kv_index_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, size_t> tensor_index_;
    std::string owned_;
    std::unique_ptr<files::MappedFile> map_;  // open(); from_bytes() holds owned_ instead
    size_t size_ = 0;
    const uint8_t* bytes_ = nullptr;
    uint64_t data_start_ = 0;
};

// A tensor to write: bytes already in `type`'s layout (see encode_values).
struct GgufTensorOut {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> ne;  // GGML order
    std::vector<uint8_t> bytes;
};

// Writes a GGUF v3 file: metadata in the given order (general.alignment is
// added as 32 unless present), tensors in the given order, each at an aligned
// offset. Written through files::AtomicFile (a temporary beside it, renamed), so a
// failed write leaves no partial file. Throws Error naming the file.
void write_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                const std::vector<GgufTensorOut>& tensors);

// Float values → bytes of `type` (F32, F16 and BF16 round to nearest even;
// Q8_0: blocks of 32, d = max|x|/127 stored as f16, q = round(x/d) half away
// from zero, as ggml's reference quantizer). For Q8_0 `n` must be a multiple of 32.
std::vector<uint8_t> encode_values(GgmlType type, const float* values, size_t n, const std::string& where);
std::vector<float> decode_values(GgmlType type, const uint8_t* bytes, size_t n, const std::string& where);

uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);

}  // namespace droplora::io
