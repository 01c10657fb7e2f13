// Every bad input a person can give the droplora command line, as a table:
// each row writes its files, runs one command and asserts the exit code and
// the first line of stderr (which names the file or key and the problem).
// Besides, for every failing row: stderr is that one line, at most
// kMaxLineBytes long (long inputs are shown cut), and nothing crashed.
//
// Adding a case is one row in bad_input_data():
//   {"tag", {{"file", "content"}, ...}, {"command", "arg", ...}, exit_code, "expected first line"},
// Placeholders, in file names, contents, arguments and the expected line:
//   {tmp}     the row's own scratch folder (also the working directory)
//   {models}  tests/data/models      {data}  tests/data
// In the expected line, '*' matches any text. A content "@copy:PATH" copies
// PATH; "@head:N:PATH" the first N bytes of PATH; a name ending in '/' makes
// a folder.
#include <QtTest/QtTest>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "test_support.h"

using droplora::testing::data_path;
using droplora::testing::droplora_cli;
using droplora::testing::read_file;
using droplora::testing::write_file;
using Result = droplora::testing::ProcessResult;

namespace {

constexpr int kMaxLineBytes = 600;

struct File {
    std::string name;
    std::string content;
};

struct Case {
    const char* tag;
    std::vector<File> files;
    QStringList args;
    int code;
    QString first_line;
};

std::string expand(std::string s, const std::string& tmp) {
    const std::vector<std::pair<std::string, std::string>> vars = {
        {"{tmp}", tmp}, {"{models}", data_path("models")}, {"{data}", std::string(DROPLORA_TEST_DATA)}};
    for (const auto& [key, value] : vars)
        for (std::size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + value.size()))
            s.replace(at, key.size(), value);
    return s;
}

QString expand(const QString& s, const std::string& tmp) {
    return QString::fromStdString(expand(s.toStdString(), tmp));
}

// A run file for the tiny GQA model; `extra` is appended (YAML).
std::string run_yaml(const std::string& extra, const std::string& train = "train.jsonl") {
    return "model: {models}/tiny-llama-gqa\ndata:\n  train: " + train +
           "\n  max_seq_len: 64\ntrain:\n  max_steps: 2\n  batch_size: 2\ndevice: cpu\noutput: run\n" + extra;
}

const std::string kGoodRows = "{\"text\": \"one two three\"}\n{\"text\": \"four five six\"}\n";

}  // namespace

class TestBadInput : public QObject {
    Q_OBJECT

private slots:
    void bad_input_data() {
        QTest::addColumn<int>("row");
        const std::string big(50 * 1000 * 1000, 'x');
        cases_ = {
            // ---- the command line ----------------------------------------------------------------------------
            {"unknown command", {}, {"trian"}, 2, "droplora: unknown command 'trian' (see droplora --help)"},
            {"unknown option", {}, {"eval", "--modle", "x"}, 1, "droplora eval: error: --modle*"},
            {"train without config", {}, {"train"}, 1, "droplora train: error: train: --config RUN.yaml*"},
            // ---- model folders --------------------------------------------------------------------------------
            {"model is a file", {{"sample.txt", "hello\n"}}, {"eval", "--model", "{models}/tiny-llama-gqa/config.json", "--text-file", "sample.txt"}, 1, "droplora eval: error: {models}/tiny-llama-gqa/config.json: is a file, expected a Hugging Face model folder*"},
            {"model is a file (train)", {{"train.jsonl", kGoodRows}, {"run.yaml", "model: {models}/tiny-llama-gqa/config.json\ndata: {train: train.jsonl}\n"}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {models}/tiny-llama-gqa/config.json: is a file, expected a Hugging Face model folder*"},
            {"model missing", {{"sample.txt", "hello\n"}}, {"eval", "--model", "{tmp}/nope", "--text-file", "sample.txt"}, 1, "droplora eval: error: {tmp}/nope: does not exist*"},
            {"broken config.json", {{"m/", ""}, {"m/config.json", "{ not json"}}, {"inspect", "{tmp}/m"}, 1, "droplora inspect: error: {tmp}/m/config.json: *JSON*"},
            {"truncated safetensors", {{"m/", ""}, {"m/config.json", "@copy:{models}/tiny-llama-gqa/config.json"}, {"m/tokenizer.model", "@copy:{models}/tiny-llama-gqa/tokenizer.model"}, {"m/model.safetensors", "@head:5000:{models}/tiny-llama-gqa/model.safetensors"}, {"sample.txt", "hello world\n"}}, {"eval", "--model", "{tmp}/m", "--text-file", "sample.txt"}, 1, "droplora eval: error: {tmp}/m/model.safetensors: *file truncated?)"},
            {"safetensors header over cap", {{"m/", ""}, {"m/config.json", "@copy:{models}/tiny-llama-gqa/config.json"}, {"m/tokenizer.model", "@copy:{models}/tiny-llama-gqa/tokenizer.model"}, {"m/model.safetensors", std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10)}, {"sample.txt", "hello world\n"}}, {"eval", "--model", "{tmp}/m", "--text-file", "sample.txt"}, 1, "droplora eval: error: {tmp}/m/model.safetensors: header length 4294967295 exceeds the limit of 100000000 bytes (not a safetensors file?)"},
            // ---- run files ------------------------------------------------------------------------------------
            {"wrong YAML key", {{"run.yaml", "model: m\ndata:\n  train: t.jsonl\nadapter:\n  rnak: 8\n"}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: run.yaml:5: *adapter.rank*"},
            {"second YAML document", {{"run.yaml", "model: m\ndata: {train: t.jsonl}\n---\ntrain: {lr: 0.1}\n"}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: run.yaml:4: a second YAML document (after '---'): a run file holds one mapping; merge the two or use two files"},
            {"run file is a folder", {{"run.yaml/", ""}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: run.yaml: is a folder, not a YAML run file"},
            // ---- training data --------------------------------------------------------------------------------
            {"data is a folder", {{"train.jsonl/", ""}, {"run.yaml", run_yaml("")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.jsonl: is a folder, expected a data file (.jsonl, .json or .txt)"},
            {"malformed data line", {{"train.jsonl", "{\"text\": \"a\"}\n{\"text\": \n"}, {"run.yaml", run_yaml("")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.jsonl:2: invalid JSON: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal (at byte 10 of the line)"},
            {"50 MB malformed line", {{"train.jsonl", "{\"text\": \"" + big + "\n"}, {"run.yaml", run_yaml("")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.jsonl:1: invalid JSON: syntax error while parsing value - invalid string: missing closing quote; last read: '\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (50000001 bytes)' (at byte 50000011 of the line)"},
            {"duplicate key in a row", {{"train.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\", \"text\": \"c\"}\n"}, {"run.yaml", run_yaml("")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.jsonl:2: key \"text\" appears more than once (JSON would keep only the last one)"},
            {"duplicate key in a message", {{"train.json", "[\n {\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"role\": \"user\", \"content\": \"a\"}]}\n]\n"}, {"run.yaml", run_yaml("", "train.json")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.json:2: key \"role\" appears more than once in messages[1] (JSON would keep only the last one)"},
            {"unknown data extension", {{"train.csv", "a,b\n"}, {"run.yaml", run_yaml("", "train.csv")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.csv: unknown file extension '.csv': expected .jsonl, .json or .txt"},
            {"empty data file", {{"train.jsonl", "\n\n"}, {"run.yaml", run_yaml("")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.jsonl: no rows in the file"},
            {"huge role echoed cut", {{"train.jsonl", "{\"messages\": [{\"role\": \"" + std::string(100000, 'r') + "\", \"content\": \"a\"}]}\n"}, {"run.yaml", run_yaml("")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/train.jsonl:1: messages[0].role 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr... (100000 bytes)' is not system, user or assistant"},
            // ---- adapters and run folders ---------------------------------------------------------------------
            {"init adapter of another model, same rank", {{"train.jsonl", kGoodRows}, {"run.yaml", run_yaml("adapter:\n  rank: 8\n  init_adapter: {data}/adapters/bad-shape\n")}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {data}/adapters/bad-shape/adapter_model.safetensors: module 'model.layers.0.self_attn.q_proj': lora_A 8×60 / lora_B 64×8 do not fit the layer (64×64, expected lora_A r×64 and lora_B 64×r)"},
            {"metrics.jsonl cannot be opened", {{"train.jsonl", kGoodRows}, {"run.yaml", run_yaml("")}, {"run/", ""}, {"run/metrics.jsonl/", ""}, {"run/metrics.jsonl/keep", "x"}}, {"train", "--config", "run.yaml"}, 1, "droplora train: error: {tmp}/run/metrics.jsonl: cannot open for appending: Is a directory"},
        };
        for (std::size_t i = 0; i < cases_.size(); ++i) QTest::newRow(cases_[i].tag) << static_cast<int>(i);
    }

    void bad_input() {
        QFETCH(int, row);
        const Case& c = cases_[static_cast<std::size_t>(row)];
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string dir = tmp.path().toStdString();
        for (const File& f : c.files) {
            const std::string path = dir + "/" + expand(f.name, dir);
            if (!path.empty() && path.back() == '/') {
                QVERIFY(QDir().mkpath(QString::fromStdString(path)));
                continue;
            }
            std::string content = expand(f.content, dir);
            if (content.rfind("@copy:", 0) == 0) {
                content = read_file(content.substr(6));
            } else if (content.rfind("@head:", 0) == 0) {
                const std::size_t colon = content.find(':', 6);
                const std::size_t n = std::stoul(content.substr(6, colon - 6));
                content = read_file(content.substr(colon + 1)).substr(0, n);
            }
            write_file(path, content);
        }
        QStringList args;
        for (const QString& a : c.args) args << expand(a, dir);
        const Result r = droplora_cli(args, tmp.path());
        QVERIFY2(!r.crashed, qPrintable("crashed; stderr: " + r.err.left(2000)));
        const QString first = r.err.section('\n', 0, 0);
        const QString expected = expand(c.first_line, dir);
        const QRegularExpression pattern(QRegularExpression::anchoredPattern(
            QRegularExpression::escape(expected).replace(QStringLiteral("\\*"), QStringLiteral(".*"))));
        QVERIFY2(pattern.match(first).hasMatch(),
                 qPrintable("first line of stderr:\n  " + first.left(2000) + "\nexpected:\n  " + expected));
        QCOMPARE(r.code, c.code);
        if (c.code != 0) {
            QVERIFY2(r.err.trimmed().count('\n') == 0, qPrintable("more than one line:\n" + r.err.left(2000)));
            QVERIFY2(first.toUtf8().size() <= kMaxLineBytes,
                     qPrintable(QString::number(first.toUtf8().size()) + " bytes: " + first.left(300)));
        }
    }

    // --resume with other data of the same row count: the content hash differs.
    void resume_with_other_data() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string dir = tmp.path().toStdString();
        write_file(dir + "/train.jsonl", kGoodRows);
        write_file(dir + "/run.yaml", expand(run_yaml(""), dir));
        Result r = droplora_cli({"train", "--config", "run.yaml", "--set", "train.save_every=1", "--quiet"}, tmp.path());
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        write_file(dir + "/train.jsonl", "{\"text\": \"seven eight nine\"}\n{\"text\": \"ten eleven twelve\"}\n");
        r = droplora_cli({"train", "--resume", "run"}, tmp.path());
        QCOMPARE(r.code, 1);
        const QString first = r.err.section('\n', 0, 0);
        QVERIFY2(first.startsWith("droplora train: error: batcher state: saved for other training data: same 2 "
                                  "examples, but their content hash is fnv1a64:"),
                 qPrintable(first));
        QVERIFY2(r.err.trimmed().count('\n') == 0, qPrintable(r.err));
    }

private:
    std::vector<Case> cases_;
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "test_bad_input.moc"
