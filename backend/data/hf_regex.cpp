#include "data/hf_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/error.h"

namespace droplora::data {

struct HfRegex::Impl {
    pcre2_code* code = nullptr;
    bool jit = false;
};

HfRegex::HfRegex(const std::string& pattern, const std::string& where) : impl_(new Impl), where_(where) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
    if (impl_->code == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        fail(where, "cannot compile the regex at offset " + std::to_string(offset) + ": " +
                        reinterpret_cast<const char*>(msg));
    }
    impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

HfRegex::~HfRegex() {
    if (impl_ && impl_->code != nullptr) pcre2_code_free(impl_->code);
}

std::vector<std::pair<std::size_t, std::size_t>> HfRegex::find_all(const std::string& text) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    // Match data per call: the compiled pattern is shared by threads, match data is not.
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
    if (md == nullptr) fail(where_, "out of memory for a regex match");
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t pos = 0;
    while (pos <= text.size()) {
        // The text is valid UTF-8 (the tokenizer makes it so), hence NO_UTF_CHECK.
        const int rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr)
                                  : pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            pcre2_match_data_free(md);
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            fail(where_, std::string("regex match failed: ") + reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const std::size_t start = ov[0], end = ov[1];
        if (end > start) {
            out.emplace_back(start, end);
            pos = end;
        } else {
            // An empty match is skipped (as Rust's find_iter does): step one character.
            pos = start + 1;
            while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
        }
    }
    pcre2_match_data_free(md);
    return out;
}

}  // namespace droplora::data
