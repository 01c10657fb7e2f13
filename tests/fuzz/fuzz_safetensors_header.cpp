// libFuzzer target: the safetensors header reader (io/safetensors.h) on
// untrusted bytes. Input: 2 bytes of data-buffer size (little-endian), then
// the header JSON. An accepted header must describe tensors that tile the
// buffer exactly (docs/formats.md §3), which is checked here again.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint64_t buffer_size = static_cast<uint64_t>(data[0]) | (static_cast<uint64_t>(data[1]) << 8);
    const std::string header(reinterpret_cast<const char*>(data + 2), size - 2);
    droplora::fuzz::expect_clean("fuzz.safetensors", [&] {
        std::vector<droplora::io::TensorInfo> tensors;
        std::map<std::string, std::string> metadata;
        droplora::io::SafetensorsFile::parse_header(header, buffer_size, "fuzz.safetensors", &tensors, &metadata);
        uint64_t covered = 0;
        for (const auto& t : tensors) {
            if (t.begin > t.end || t.end > buffer_size) droplora::fuzz::finding("tensor outside the buffer", t.name.c_str());
            if (t.end - t.begin != static_cast<uint64_t>(t.numel()) * droplora::io::dtype_size(t.dtype))
                droplora::fuzz::finding("byte range does not match the shape", t.name.c_str());
            covered += t.end - t.begin;
        }
        if (covered != buffer_size) droplora::fuzz::finding("tensors do not tile the buffer", "");
    });
    return 0;
}
