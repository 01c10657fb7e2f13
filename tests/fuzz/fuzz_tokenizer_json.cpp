// libFuzzer target: the tokenizer.json reader (data/hf_tokenizer.h) on
// untrusted bytes, and the encoder and decoder of every file it accepts.
// Input: a text to encode, a NUL byte, then the tokenizer.json. An accepted
// tokenizer must encode to ids it knows and decode them without an error.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "data/hf_tokenizer.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace droplora;
    const char* begin = reinterpret_cast<const char*>(data);
    const char* nul = static_cast<const char*>(std::memchr(begin, '\0', size));
    if (nul == nullptr) return 0;
    const std::string text(begin, nul);
    const std::string json(nul + 1, begin + size);
    fuzz::expect_clean("fuzz/tokenizer.json", [&] {
        const auto tok = data::HfTokenizer::parse(json, "fuzz/tokenizer.json");
        for (bool specials : {false, true}) {
            const auto ids = tok->encode(text, specials);
            for (int32_t id : ids)
                if (!tok->has_id(id)) fuzz::finding("encode returned an id the vocabulary lacks", std::to_string(id).c_str());
            (void)tok->decode(ids, /*skip_special_tokens=*/!specials);
        }
    });
    return 0;
}
