// What every fuzz target asserts about one input: the parser either accepts
// it or throws droplora::Error with a one-line message; any other exception,
// a crash or a sanitizer report is a finding (docs: CONTRIBUTING.md, Fuzzing).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "common/error.h"

namespace droplora::fuzz {

[[noreturn]] inline void finding(const char* what, const char* detail) {
    std::fprintf(stderr, "fuzz finding: %s: %s\n", what, detail);
    std::abort();
}

// Runs `f`; droplora::Error is an accepted outcome when its message is one line starting with `where`.
template <typename F>
void expect_clean(const std::string& where, F&& f) {
    try {
        f();
    } catch (const droplora::Error& e) {
        const std::string msg = e.what();
        if (msg.find('\n') != std::string::npos) finding("message is not one line", msg.c_str());
        if (msg.rfind(where, 0) != 0) finding("message does not start with the input's name", msg.c_str());
    } catch (const std::exception& e) {
        finding("exception other than droplora::Error", e.what());
    } catch (...) {
        finding("non-standard exception", "?");
    }
}

}  // namespace droplora::fuzz
