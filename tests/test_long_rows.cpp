// Long rows are cut before tokenizing (data/dataset.cpp, encode_at_least): a
// 50 MB row at max_seq_len 128 once tokenized all 50 MB. The cut must not
// change what training sees: for every row, tokenize at max_seq_len L equals
// the first L ids and labels of tokenize with no effective limit (which never
// cuts, i.e. the old behaviour), with `truncated` set exactly when there were
// more. Checked on the fixture sentencepiece tokenizer over short rows (no cut
// happens), long natural text, text without spaces, multi-byte UTF-8 text and
// every template.
#include <QtTest/QtTest>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "test_support.h"

using namespace droplora::data;

using droplora::testing::data_path;
using droplora::testing::read_file;

namespace {

constexpr int64_t kNoLimit = int64_t{1} << 40;  // larger than any text here: nothing is cut

Row text_row(const std::string& text) {
    Row row;
    row.source = "test:#1";
    row.text = text;
    return row;
}

Row chat_row(const std::string& user, const std::string& assistant) {
    Row row;
    row.source = "test:1";
    row.messages = {{"system", "Answer briefly."}, {"user", user}, {"assistant", assistant}};
    return row;
}

Row alpaca_row(const std::string& instruction, const std::string& input, const std::string& output) {
    Row row;
    row.source = "test:1";
    row.alpaca = true;
    row.instruction = instruction;
    row.input = input;
    row.messages = {{"user", instruction + "\n\n" + input}, {"assistant", output}};
    return row;
}

// `base` repeated (numbered, so repeats differ) to at least `bytes` bytes.
std::string repeated(const std::string& base, std::size_t bytes) {
    std::string out;
    for (int i = 0; out.size() < bytes; ++i) out += base + " " + std::to_string(i * 37) + "\n";
    return out;
}

}  // namespace

class TestLongRows : public QObject {
    Q_OBJECT

    std::shared_ptr<Tokenizer> tok_;

    // tokenize(row, L) against the uncut tokenization, for several L.
    void check_prefix(const Row& row, Template templ, const std::vector<int64_t>& lengths) {
        RenderOptions full_opts;
        full_opts.templ = templ;
        full_opts.max_seq_len = kNoLimit;
        const Example full = tokenize(row, *tok_, full_opts);
        QVERIFY(!full.truncated);
        for (int64_t len : lengths) {
            RenderOptions opts = full_opts;
            opts.max_seq_len = len;
            const Example cut = tokenize(row, *tok_, opts);
            const auto keep = static_cast<std::size_t>(std::min<int64_t>(len, static_cast<int64_t>(full.input_ids.size())));
            const std::string what = std::string(template_name(templ)) + " at max_seq_len " + std::to_string(len);
            QVERIFY2(cut.input_ids == std::vector<int64_t>(full.input_ids.begin(), full.input_ids.begin() + keep),
                     what.c_str());
            QVERIFY2(cut.labels == std::vector<int64_t>(full.labels.begin(), full.labels.begin() + keep), what.c_str());
            QCOMPARE(cut.truncated, static_cast<int64_t>(full.input_ids.size()) > len);
        }
    }

private slots:
    void initTestCase() {
        tok_ = Tokenizer::load(data_path("tokenizer"));
        QVERIFY(tok_ != nullptr);
    }

    // Rows far below the cut bound: the same ids as before, for every template.
    void short_rows_unchanged() {
        const std::string sample = read_file(data_path("texts/sample.txt"));
        const std::string samples = read_file(data_path("tokenizer/samples.txt"));
        QVERIFY(!sample.empty() && !samples.empty());
        for (Template t : {Template::Alpaca, Template::Llama2, Template::ChatML, Template::Plain}) {
            check_prefix(chat_row(samples, sample), t, {1, 2, 8, 64, 512, 4096});
            check_prefix(alpaca_row("Summarise.", samples, sample.substr(0, 400)), t, {3, 50, 2000});
        }
        check_prefix(text_row(sample), Template::Plain, {1, 16, 128, 100000});
    }

    // Rows hundreds of times over the bound: cut, with the same first tokens.
    void long_rows_cut_identically() {
        const std::string sample = read_file(data_path("texts/sample.txt"));
        const std::string natural = repeated(sample, 600000);
        check_prefix(text_row(natural), Template::Plain, {1, 7, 128, 1000, 5000});
        check_prefix(chat_row(natural, "short answer"), Template::ChatML, {16, 128});
        check_prefix(chat_row("What is it?", natural), Template::Llama2, {16, 128, 3000});
        check_prefix(alpaca_row("Repeat.", natural, natural), Template::Alpaca, {64, 128});

        std::string no_spaces;  // no place to cut but a byte count
        for (int i = 0; no_spaces.size() < 300000; ++i) no_spaces += "abcXYZ0123456789"[i * 7 % 16];
        check_prefix(text_row(no_spaces), Template::Plain, {1, 128, 2000});
        std::string multibyte;  // 2-, 3- and 4-byte UTF-8: the cut must not split a character
        while (multibyte.size() < 300000) multibyte += "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x99\x82x";
        check_prefix(text_row(multibyte), Template::Plain, {1, 128, 2000});
    }

    // The case from the report: one 50 MB row at max_seq_len 128. Without the
    // cut this tokenized all 50 MB (about 90 s); now a few kilobytes.
    void fifty_megabyte_row() {
        const std::string huge = repeated("The quick brown fox jumps over the lazy dog.", 50 * 1000 * 1000);
        RenderOptions opts;
        opts.templ = Template::Alpaca;
        opts.max_seq_len = 128;
        const Example ex = tokenize(chat_row("Summarise the text below.\n" + huge, "A fox."), *tok_, opts);
        QCOMPARE(ex.input_ids.size(), std::size_t{128});
        QVERIFY(ex.truncated);
        const Example text = tokenize(text_row(huge), *tok_, opts);
        QCOMPARE(text.input_ids.size(), std::size_t{128});
        QVERIFY(text.truncated);
    }
};

QTEST_GUILESS_MAIN(TestLongRows)
#include "test_long_rows.moc"
