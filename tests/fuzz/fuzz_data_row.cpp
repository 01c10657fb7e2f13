// libFuzzer target: the training-data readers (data/dataset.h load_rows) and
// the template rendering of every row they accept. Input: one byte choosing
// the file kind (.jsonl, .json, .txt), the format and skip_bad_rows, then the
// file's content (written to a scratch file: load_rows reads paths).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "data/dataset.h"
#include "fuzz_check.h"

namespace {

std::string scratch_path(const char* ext) {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/droplora-fuzz-" +
           std::to_string(::getpid()) + "." + ext;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace droplora;
    if (size < 1) return 0;
    static const char* const kExts[] = {"jsonl", "json", "txt", "jsonl"};
    static const data::Format kFormats[] = {data::Format::Auto, data::Format::Alpaca, data::Format::Chat,
                                            data::Format::Completion, data::Format::Text, data::Format::Auto,
                                            data::Format::Auto, data::Format::Auto};
    const uint8_t mode = data[0];
    const std::string path = scratch_path(kExts[mode & 3]);
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data + 1, 1, size - 1, f);
        std::fclose(f);
    } else {
        fuzz::finding("cannot write the scratch file", path.c_str());
    }
    data::LoadOptions opts;
    opts.format = kFormats[(mode >> 2) & 7];
    opts.skip_bad_rows = (mode & 0x20) != 0;
    fuzz::expect_clean(path, [&] {
        const data::LoadedRows rows = data::load_rows(path, opts);
        if (rows.rows.empty()) fuzz::finding("load_rows returned no rows without an error", path.c_str());
        for (const data::Row& row : rows.rows)
            for (data::Template t : {data::Template::Alpaca, data::Template::Llama2, data::Template::ChatML,
                                     data::Template::Plain})
                fuzz::expect_clean(row.source, [&] { data::render(row, t); });
    });
    std::remove(path.c_str());
    return 0;
}
