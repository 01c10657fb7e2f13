// libFuzzer target: the YAML run-file reader (config/run_config.h) on
// untrusted text. An accepted file must survive the round trip a run makes
// (config.yaml is written with to_yaml and read back on --resume): the written
// text parses and writes back identically. The first line is also tried as a
// --set override.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/run_config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace droplora;
    const std::string text(reinterpret_cast<const char*>(data), size);
    fuzz::expect_clean("fuzz.yaml", [&] {
        config::RunConfig cfg = config::parse_run_config(text, "fuzz.yaml", "/nonexistent");
        const std::string saved = config::to_yaml(cfg);
        try {
            const std::string again = config::to_yaml(config::parse_run_config(saved, "config.yaml", "/nonexistent"));
            if (again != saved) fuzz::finding("to_yaml is not stable over a round trip", saved.c_str());
        } catch (const droplora::Error& e) {
            fuzz::finding("the written config.yaml does not read back", e.what());
        }
        fuzz::expect_clean("--set", [&] { config::apply_override(cfg, text.substr(0, text.find('\n'))); });
    });
    return 0;
}
