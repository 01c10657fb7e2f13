// libFuzzer target: the GGUF reader (io/gguf.h) on untrusted bytes. An
// accepted file must describe tensors inside its data, and every tensor of a
// type the reader decodes must decode to exactly numel() values.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace droplora;
    std::string bytes(reinterpret_cast<const char*>(data), size);
    fuzz::expect_clean("fuzz.gguf", [&] {
        const auto f = io::GgufFile::from_bytes(std::move(bytes), "fuzz.gguf");
        for (const auto& [key, value] : f->metadata())
            if (f->find(key) == nullptr) fuzz::finding("a metadata key cannot be found again", key.c_str());
        for (const auto& t : f->tensors()) {
            if (f->find_tensor(t.name) == nullptr) fuzz::finding("a tensor cannot be found again", t.name.c_str());
            if (t.numel() > (int64_t{1} << 20)) continue;  // decoding is linear; big ones only slow the search
            fuzz::expect_clean("fuzz.gguf", [&] {
                const auto v = f->values(t);
                if (static_cast<int64_t>(v.size()) != t.numel()) fuzz::finding("values() size is not numel()", t.name.c_str());
            });
        }
    });
    return 0;
}
