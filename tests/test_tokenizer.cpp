// Tokenizer: ids equal sentencepiece's own `spm_encode --output_format=id`
// (tests/data/tokenizer/samples.ids, made by tests/reference/make_tokenizer_golden.sh),
// exact (integer ids, no tolerance), in a process that has already run libtorch —
// the protobuf clash of docs/architecture.md, "Hazards" would crash it otherwise.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "data/tokenizer.h"
#include "test_support.h"

using droplora::data::Tokenizer;

using droplora::testing::read_file;
using droplora::testing::write_file;

namespace {

const QString kDataDir = QStringLiteral(DROPLORA_TEST_DATA "/tokenizer");
const QString kShimPath = QStringLiteral(DROPLORA_BIN_DIR "/../lib/libdroplora_spm.so");
constexpr int kChildLoadFailed = 3;

// Lines as spm_encode reads them: split at '\n', the final newline ends the last line.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

std::vector<int64_t> parse_ids(const std::string& line) {
    std::vector<int64_t> ids;
    std::istringstream in(line);
    int64_t id = 0;
    while (in >> id) ids.push_back(id);
    return ids;
}

// A model folder in `dir` with the fixture's tokenizer.model and the given JSON files.
QString make_model_dir(const QTemporaryDir& dir, const std::string& tokenizer_config, const std::string& config) {
    const QString model = dir.path() + "/tokenizer.model";
    QFile::remove(model);
    QFile::copy(kDataDir + "/tokenizer.model", model);
    QFile::remove(dir.path() + "/tokenizer_config.json");
    QFile::remove(dir.path() + "/config.json");
    if (!tokenizer_config.empty()) write_file(dir.path() + "/tokenizer_config.json", tokenizer_config);
    if (!config.empty()) write_file(dir.path() + "/config.json", config);
    return dir.path();
}

// Loading `path` must throw droplora::Error whose message names `expected_in_message`.
void expect_load_error(const QString& path, const QString& expected_in_message) {
    try {
        Tokenizer::load(path.toStdString());
        QFAIL(qPrintable("no error loading " + path));
    } catch (const droplora::Error& e) {
        const QString msg = QString::fromStdString(e.what());
        QVERIFY2(msg.contains(expected_in_message), qPrintable("message: " + msg));
        QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
    }
}

struct ChildResult {
    int exit_code = -1;
    QString output;
};

// Runs this executable in child mode with DROPLORA_SPM_LIB=`shim`: the shim is located
// once per process, so each location needs a fresh process.
ChildResult run_child(const QString& shim) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("DROPLORA_SPM_LIB", shim);
    p.setProcessEnvironment(env);
    p.start(QCoreApplication::applicationFilePath(), {"--child-load", kDataDir});
    if (!p.waitForFinished(60000)) return {};
    ChildResult r;
    r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.output = QString::fromUtf8(p.readAllStandardOutput()).trimmed();
    return r;
}

}  // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

    std::shared_ptr<Tokenizer> tok_;
    std::vector<std::string> samples_;
    std::vector<std::vector<int64_t>> golden_;

private slots:
    void initTestCase() {
        // libtorch first, so libprotobuf.so.32 is live before sentencepiece's copy arrives.
        const at::Tensor t = torch::arange(6, torch::kFloat32).reshape({2, 3});
        QCOMPARE(t.sum().item<float>(), 15.0f);

        tok_ = Tokenizer::load(kDataDir.toStdString());
        samples_ = split_lines(read_file(kDataDir + "/samples.txt"));
        for (const auto& line : split_lines(read_file(kDataDir + "/samples.ids"))) golden_.push_back(parse_ids(line));
        QCOMPARE(samples_.size(), size_t(14));
        QCOMPARE(golden_.size(), samples_.size());
    }

    void specialIds() {
        QCOMPARE(tok_->vocab_size(), int64_t(1000));
        QCOMPARE(tok_->unk_id(), int64_t(0));
        QCOMPARE(tok_->bos_id(), int64_t(1));
        QCOMPARE(tok_->eos_id(), int64_t(2));
        QCOMPARE(tok_->pad_id(), int64_t(-1));
        QVERIFY(tok_->add_bos());
        QVERIFY(!tok_->add_eos());
        QCOMPARE(QString::fromStdString(tok_->model_path()), kDataDir + "/tokenizer.model");
    }

    // spm_train's tokenizer.vocab lists every piece in id order ("piece<TAB>score").
    void piecesMatchVocabFile() {
        const auto rows = split_lines(read_file(kDataDir + "/tokenizer.vocab"));
        QCOMPARE(int64_t(rows.size()), tok_->vocab_size());
        for (size_t id = 0; id < rows.size(); ++id) {
            const std::string piece = rows[id].substr(0, rows[id].find('\t'));
            QCOMPARE(tok_->id_to_piece(int64_t(id)), piece);
        }
        QCOMPARE(tok_->id_to_piece(1), std::string("<s>"));
        QCOMPARE(tok_->id_to_piece(3), std::string("<0x00>"));
        QCOMPARE(tok_->id_to_piece(468).size(), size_t(48));  // 16 × "▁": longer than the first buffer guess
    }

    void goldenIds_data() {
        QTest::addColumn<int>("line");
        for (int i = 0; i < 14; ++i) QTest::newRow(qPrintable(QString("line %1").arg(i + 1))) << i;
    }
    void goldenIds() {
        QFETCH(int, line);
        const std::string& text = samples_.at(size_t(line));
        const std::vector<int64_t> ids = tok_->encode(text);
        QCOMPARE(ids, golden_.at(size_t(line)));
        QCOMPARE(tok_->decode(ids), text);
        std::vector<int64_t> with_bos{tok_->bos_id()};
        with_bos.insert(with_bos.end(), ids.begin(), ids.end());
        QCOMPARE(tok_->encode_with_specials(text), with_bos);
    }

    void emptyAndSpecialsDecode() {
        QVERIFY(tok_->encode("").empty());
        QCOMPARE(tok_->encode_with_specials(""), std::vector<int64_t>{1});
        QCOMPARE(tok_->decode({}), std::string());
        // Control pieces decode to nothing, as in sentencepiece.
        std::vector<int64_t> ids = tok_->encode_with_specials("Hello, world!");
        ids.push_back(tok_->eos_id());
        QCOMPARE(tok_->decode(ids), std::string("Hello, world!"));
        // Text that looks like a special token is ordinary text.
        QVERIFY(tok_->encode("<s>") != std::vector<int64_t>{1});
    }

    void loadFromFileEqualsFolder() {
        auto file_tok = Tokenizer::load((kDataDir + "/tokenizer.model").toStdString());
        for (const auto& s : samples_) QCOMPARE(file_tok->encode(s), tok_->encode(s));
        QVERIFY(file_tok->add_bos());
        QVERIFY(!file_tok->add_eos());
    }

    void policyFromTokenizerConfig() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string text = "Hello, world!";
        const std::vector<int64_t> pieces = tok_->encode(text);

        auto t = Tokenizer::load(make_model_dir(dir, R"({"add_eos_token": true})", "").toStdString());
        std::vector<int64_t> expected{1};
        expected.insert(expected.end(), pieces.begin(), pieces.end());
        expected.push_back(2);
        QCOMPARE(t->encode_with_specials(text), expected);
        QCOMPARE(t->encode(text), pieces);

        t = Tokenizer::load(
            make_model_dir(dir, R"({"add_bos_token": false, "add_eos_token": false})", "").toStdString());
        QCOMPARE(t->encode_with_specials(text), pieces);

        t = Tokenizer::load(
            make_model_dir(dir, R"({"add_bos_token": null, "tokenizer_class": "LlamaTokenizer"})", "").toStdString());
        QVERIFY(t->add_bos());
        QVERIFY(!t->add_eos());
    }

    void idsFromConfigJson() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto t = Tokenizer::load(make_model_dir(dir, "", R"({"bos_token_id": 1, "eos_token_id": 2})").toStdString());
        QCOMPARE(t->bos_id(), int64_t(1));
        QCOMPARE(t->eos_id(), int64_t(2));

        // config.json wins where it differs; a list of eos ids gives its first.
        t = Tokenizer::load(
            make_model_dir(dir, R"({"add_eos_token": true})", R"({"bos_token_id": 5, "eos_token_id": [7, 2]})")
                .toStdString());
        QCOMPARE(t->bos_id(), int64_t(5));
        QCOMPARE(t->eos_id(), int64_t(7));
        const std::vector<int64_t> ids = t->encode_with_specials("Hi");
        QCOMPARE(ids.front(), int64_t(5));
        QCOMPARE(ids.back(), int64_t(7));
        QCOMPARE(t->unk_id(), int64_t(0));
        QCOMPARE(t->stop_ids(), (std::vector<int64_t>{7, 2}));
    }

    void kindAndStopIds() {
        QCOMPARE(tok_->kind(), std::string("sentencepiece"));
        QCOMPARE(tok_->stop_ids(), std::vector<int64_t>{2});
        QVERIFY(tok_->hf() == nullptr);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString d = make_model_dir(dir, "", R"({"eos_token_id": 2, "vocab_size": 1000})");
        write_file(d + "/generation_config.json", R"({"eos_token_id": [2, 5, 7]})");
        QCOMPARE(Tokenizer::load(d.toStdString())->stop_ids(), (std::vector<int64_t>{2, 5, 7}));
        // A folder with both tokenizer files uses tokenizer.model (the other is not even read).
        write_file(d + "/tokenizer.json", "{ not read }");
        QCOMPARE(Tokenizer::load(d.toStdString())->kind(), std::string("sentencepiece"));
        // More tokenizer ids than embedding rows is an error; fewer is normal.
        write_file(d + "/config.json", R"({"vocab_size": 1024})");
        QCOMPARE(Tokenizer::load(d.toStdString())->vocab_size(), int64_t(1000));
        write_file(d + "/config.json", R"({"vocab_size": 999})");
        expect_load_error(d, d + "/config.json");
        write_file(d + "/config.json", "{}");
        write_file(d + "/generation_config.json", R"({"eos_token_id": [2, 1000]})");
        expect_load_error(d, d + "/generation_config.json");
    }

    void badJsonIsAnError() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString tc = dir.path() + "/tokenizer_config.json", cfg = dir.path() + "/config.json";
        expect_load_error(make_model_dir(dir, R"({"add_bos_token": true,)", ""), tc);
        expect_load_error(make_model_dir(dir, R"({"add_eos_token": "yes"})", ""), "add_eos_token");
        expect_load_error(make_model_dir(dir, R"([true])", ""), tc);
        expect_load_error(make_model_dir(dir, "", "{ not json"), cfg);
        expect_load_error(make_model_dir(dir, "", R"({"eos_token_id": 1000})"), cfg);
        expect_load_error(make_model_dir(dir, "", R"({"bos_token_id": -3})"), "bos_token_id");
        expect_load_error(make_model_dir(dir, "", R"({"eos_token_id": "</s>"})"), cfg);
    }

    void missingModelIsAnError() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        expect_load_error(dir.path() + "/nope/tokenizer.model", dir.path() + "/nope/tokenizer.model");
        expect_load_error(dir.path(), dir.path() + "/tokenizer.model");  // a folder without one
    }

    void garbageModelIsAnError() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString model = dir.path() + "/tokenizer.model";
        std::mt19937 rng(1234);
        std::string bytes(4096, '\0');
        for (char& c : bytes) c = char(rng() & 0xff);
        write_file(model, bytes);
        expect_load_error(model, model);
        expect_load_error(dir.path(), model);

        write_file(model, "");
        expect_load_error(model, model);

        const std::string real = read_file(kDataDir + "/tokenizer.model");
        write_file(model, real.substr(0, real.size() / 2));  // truncated mid-message
        expect_load_error(model, model);
    }

    void outOfRangeIdsAreErrors() {
        QVERIFY_THROWS_EXCEPTION(droplora::Error, tok_->decode({5, 1000}));
        QVERIFY_THROWS_EXCEPTION(droplora::Error, tok_->decode({-1}));
        QVERIFY_THROWS_EXCEPTION(droplora::Error, tok_->decode({int64_t(1) << 40}));
        QVERIFY_THROWS_EXCEPTION(droplora::Error, tok_->id_to_piece(1000));
        QVERIFY_THROWS_EXCEPTION(droplora::Error, tok_->id_to_piece(-1));
    }

    // Newlines (not in the vocabulary) fall back to the byte piece <0x0A>; a long text survives the round trip.
    void longTextWithNewlines() {
        std::string text;
        for (int i = 0; i < 200; ++i) text += samples_[size_t(i) % samples_.size()] + "\n";
        const std::vector<int64_t> ids = tok_->encode(text);
        QCOMPARE(tok_->id_to_piece(13), std::string("<0x0A>"));
        QCOMPARE(std::count(ids.begin(), ids.end(), int64_t(13)), std::ptrdiff_t(200));
        QCOMPARE(tok_->decode(ids), text);
    }

    void concurrentEncode() {
        std::vector<std::thread> threads;
        std::atomic<int> mismatches{0};
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                for (int rep = 0; rep < 25; ++rep)
                    for (size_t i = 0; i < samples_.size(); ++i)
                        if (tok_->encode(samples_[i]) != golden_[i] || tok_->decode(golden_[i]) != samples_[i])
                            ++mismatches;
            });
        }
        for (auto& th : threads) th.join();
        QCOMPARE(mismatches.load(), 0);
    }

    // Shim location and failure modes, each in a fresh process (the shim is opened once per process).
    void shimFromEnvironment() {
        QVERIFY2(QFileInfo::exists(kShimPath), qPrintable(kShimPath));
        ChildResult ok = run_child(kShimPath);
        QCOMPARE(ok.exit_code, 0);
        QCOMPARE(ok.output, QString("847 920 407 921 940 280 263 538 999"));  // line 1 of samples.ids

        const QString missing = QDir::tempPath() + "/droplora-no-such-dir/libdroplora_spm.so";
        ChildResult gone = run_child(missing);
        QCOMPARE(gone.exit_code, kChildLoadFailed);
        QVERIFY2(gone.output.contains(missing) && gone.output.contains("not found"), qPrintable(gone.output));

        // Not a shared library at all: dlopen refuses it, no crash.
        const QString bogus = kDataDir + "/tokenizer.model";
        ChildResult bad = run_child(bogus);
        QCOMPARE(bad.exit_code, kChildLoadFailed);
        QVERIFY2(bad.output.contains(bogus), qPrintable(bad.output));

        // A real library that is not the shim: the missing ABI probe names it.
        const QString foreign = "/lib/x86_64-linux-gnu/libz.so.1";
        if (QFileInfo::exists(foreign)) {
            ChildResult other = run_child(foreign);
            QCOMPARE(other.exit_code, kChildLoadFailed);
            QVERIFY2(other.output.contains(foreign) && other.output.contains("droplora_spm_abi_version"),
                     qPrintable(other.output));
        }
    }
};

// `--child-load <dir>`: load the tokenizer (after a torch op), print the ids of "Hello, world!"
// or the error message, and exit 0 or kChildLoadFailed. Used by shimFromEnvironment().
int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--child-load") {
        const at::Tensor t = torch::ones({2, 2});
        if (t.sum().item<float>() != 4.0f) return 1;
        try {
            auto tok = Tokenizer::load(argv[2]);
            std::string out;
            for (int64_t id : tok->encode("Hello, world!")) out += (out.empty() ? "" : " ") + std::to_string(id);
            std::cout << out << std::endl;
            return 0;
        } catch (const droplora::Error& e) {
            std::cout << e.what() << std::endl;
            return kChildLoadFailed;
        }
    }
    QCoreApplication app(argc, argv);
    TestTokenizer test;
    return QTest::qExec(&test, argc, argv);
}

#include "test_tokenizer.moc"
