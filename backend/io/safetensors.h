// safetensors files: a validating reader and a writer (docs/formats.md §3).
//
// Layout: u64 little-endian N | N bytes of UTF-8 JSON header | data buffer.
// The reader checks the whole header before any tensor byte is touched: header
// length cap, well-formed JSON, known dtype, shape × item size == byte range,
// ranges back to back from 0 with no holes, overlap or trailing bytes. Every
// error names the file and, where one is involved, the tensor.
//
// This header is torch-free on purpose: it is fuzzed and run under
// AddressSanitizer without LibTorch. The torch bridge is io/safetensors_torch.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace droplora::files {
class MappedFile;
}

namespace droplora::io {

enum class DType { Bool, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };

const char* dtype_name(DType d);  // "F32", "BF16", ...
bool parse_dtype(const std::string& s, DType* out);
std::size_t dtype_size(DType d);  // bytes per element

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets relative to the data buffer start
    uint64_t end = 0;
    int64_t numel() const;
};

// An open, validated safetensors file. The file is memory-mapped read-only;
// data() pointers stay valid while the object lives.
class SafetensorsFile {
public:
    static std::unique_ptr<SafetensorsFile> open(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in header order
    const TensorInfo* find(const std::string& name) const;               // nullptr if absent
    const TensorInfo& at(const std::string& name) const;                 // throws Error naming file + tensor
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const uint8_t* data(const TensorInfo& t) const { return buffer_ + t.begin; }

    // Parses and validates a header from memory (used by open(); exposed for tests/fuzzing).
    // `buffer_size` is the data buffer's length (file size - 8 - header length); `where` names the file in errors.
    static void parse_header(const std::string& header_json, uint64_t buffer_size, const std::string& where,
                             std::vector<TensorInfo>* tensors, std::map<std::string, std::string>* metadata);

private:
    SafetensorsFile() = default;
    std::string path_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, int> index_;
    std::map<std::string, std::string> metadata_;
    std::unique_ptr<files::MappedFile> map_;
    const uint8_t* buffer_ = nullptr;
};

// A raw tensor to write: bytes in row-major order, little-endian.
struct RawTensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    std::size_t nbytes = 0;
};

// Writes tensors back to back (sorted by name, as the reference writer does),
// header padded with spaces to a multiple of 8, metadata always containing
// {"format": "pt"}. Written through files::AtomicFile (a temporary beside it,
// renamed), so the file on disk is always whole. Throws Error naming the file.
void write_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                       std::map<std::string, std::string> metadata = {});

}  // namespace droplora::io
