// libFuzzer target: the Jinja2 chat-template interpreter (data/chat_template.h)
// on an untrusted template (a model folder's tokenizer_config.json is
// downloaded from the internet). The template is parsed and rendered over a
// fixed two-turn conversation, with and without the generation prompt, and
// with render_spans as training uses it.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/chat_template.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace droplora;
    if (size > 16384) return 0;  // real templates are a few KB; longer inputs only slow the search
    const std::string source(reinterpret_cast<const char*>(data), size);
    static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi <b>there</b>"},
        {"role": "assistant", "content": "Hello!"}])");
    fuzz::expect_clean("fuzz.jinja", [&] {
        data::ChatTemplate t(source, "fuzz.jinja", std::string("<s>"), std::string("</s>"));
        std::tm now{};
        now.tm_year = 126;
        now.tm_mday = 1;
        t.set_now(now);
        for (bool prompt : {false, true}) {
            const std::string out = t.render(messages, prompt);
            if (out.size() > (size_t{64} << 20)) fuzz::finding("render produced more than 64 MiB", "");
        }
        (void)t.render_spans(messages);
    });
    return 0;
}
