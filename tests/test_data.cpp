// Training data: file formats, templates (exact strings, docs/formats.md §2),
// tokenization with labels against the real test tokenizer, bad rows, the
// validation split and the batcher.
//
// Expected token ids are built here independently: tok.encode() of the
// expected prompt and response strings, concatenated with BOS/EOS by hand.
// Where a response continues the prompt after a space (llama2's " " + answer),
// that space is sentencepiece's dummy prefix; the test checks this against
// encode() of the whole prompt+response string. Integer ids: exact.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <functional>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "data/tokenizer.h"

using namespace droplora::data;
using Ids = std::vector<int64_t>;

namespace {

const QString kTokenizerDir = QStringLiteral(DROPLORA_TEST_DATA "/tokenizer");
const QString kChatTemplates = QStringLiteral(DROPLORA_TEST_DATA "/chat_templates");

QByteArray read_all(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(path));
    return f.readAll();
}

// A golden row of tests/data/chat_templates/golden.json (python3-jinja2's render).
struct GoldenChat {
    std::vector<Message> messages;
    std::string text;
    std::vector<std::pair<size_t, size_t>> spans;  // the assistant messages' bytes
};

GoldenChat golden_chat(const std::string& templ, const std::string& conversation) {
    const auto g = nlohmann::ordered_json::parse(read_all(kChatTemplates + "/golden.json").toStdString());
    GoldenChat out;
    for (const auto& m : g["conversations"][conversation])
        out.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    for (const auto& r : g["rows"]) {
        if (r["template"] != templ || r["conversation"] != conversation || r["add_generation_prompt"].get<bool>() ||
            !r["extra"].empty())
            continue;
        out.text = r["output"].get<std::string>();
        for (const auto& sp : r["assistant_spans"]) out.spans.emplace_back(sp[0].get<size_t>(), sp[1].get<size_t>());
    }
    if (out.text.empty()) qFatal("no golden row %s/%s", templ.c_str(), conversation.c_str());
    return out;
}

// The one-line message of the droplora::Error that `f` throws ("" if none).
QString error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const droplora::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

Ids concat(std::initializer_list<Ids> parts) {
    Ids out;
    for (const Ids& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Ids ignored(size_t n) {
    return Ids(n, kIgnoreIndex);
}

Row chat(std::vector<Message> messages) {
    Row r;
    r.source = "test:1";
    r.messages = std::move(messages);
    return r;
}

std::vector<std::string> texts(const std::vector<Segment>& segs) {
    std::vector<std::string> out;
    for (const Segment& s : segs) out.push_back(s.text);
    return out;
}

Example example(int64_t tag, size_t len) {
    Example e;
    e.source = "ex" + std::to_string(tag);
    e.input_ids = {1, tag};
    e.labels = {kIgnoreIndex, tag};
    for (size_t i = 2; i < len; ++i) {
        e.input_ids.push_back(tag + 1000);
        e.labels.push_back(tag + 1000);
    }
    return e;
}

// The tags (input_ids[:, 1]) of a batch's rows.
std::vector<int64_t> tags(const Batch& b) {
    std::vector<int64_t> out;
    for (int64_t r = 0; r < b.input_ids.size(0); ++r) out.push_back(b.input_ids[r][1].item<int64_t>());
    return out;
}

at::Tensor long_tensor(const std::vector<std::vector<int64_t>>& rows) {
    at::Tensor t = at::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, at::kLong);
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < rows[r].size(); ++c) t[r][c] = rows[r][c];
    return t;
}

const char* kAlpacaWithInput =
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n";
const char* kAlpacaNoInput =
    "Below is an instruction that describes a task. Write a response that appropriately completes the "
    "request.\n\n### Instruction:\n";

}  // namespace

// Readable failure messages for the std types compared below.
namespace QTest {
template <>
char* toString(const std::string& s) {
    return qstrdup(QByteArray::fromStdString(s).toPercentEncoding(" ").constData());
}
template <>
char* toString(const Ids& ids) {
    QByteArray out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + QByteArray::number(qlonglong(ids[i]));
    return qstrdup(out + "]");
}
template <>
char* toString(const std::vector<std::string>& v) {
    QByteArray out;
    for (const std::string& s : v) out += "\"" + QByteArray::fromStdString(s).toPercentEncoding(" ") + "\" ";
    return qstrdup(out);
}
}  // namespace QTest

class TestData : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::shared_ptr<Tokenizer> tok_;

    std::string write(const QString& name, const QByteArray& content) {
        const QString path = dir_.path() + "/" + name;
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) qFatal("cannot write %s", qPrintable(path));
        f.write(content);
        return path.toStdString();
    }
    Ids enc(const std::string& s) const { return tok_->encode(s); }
    int64_t bos() const { return tok_->bos_id(); }
    int64_t eos() const { return tok_->eos_id(); }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        tok_ = Tokenizer::load(kTokenizerDir.toStdString());
        QVERIFY(tok_->add_bos());
        QCOMPARE(bos(), int64_t{1});
        QCOMPARE(eos(), int64_t{2});
    }

    void names() {
        for (Format f : {Format::Auto, Format::Alpaca, Format::Chat, Format::Completion, Format::Text})
            QVERIFY(parse_format(format_name(f), "x") == f);
        for (Template t : {Template::Alpaca, Template::Llama2, Template::ChatML, Template::Plain})
            QVERIFY(parse_template(template_name(t), "x") == t);
        QCOMPARE(error_of([] { parse_format("sharegpt", "run.yaml: data.format"); }),
                 QString("run.yaml: data.format: unknown data format 'sharegpt' (expected auto, alpaca, chat, "
                         "completion or text)"));
        QVERIFY(error_of([] { parse_template("vicuna", "t"); }).startsWith("t: unknown template 'vicuna'"));
    }

    void autodetect_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<int>("format");
        QTest::addColumn<QStringList>("sources");
        QTest::newRow("alpaca jsonl") << "a.jsonl"
                                      << QByteArray(
                                             "{\"instruction\": \"I\", \"input\": \"\", \"output\": \"O\"}\n\n"
                                             "  \n{\"instruction\": \"I2\", \"output\": \"O2\"}\n")
                                      << int(Format::Alpaca) << QStringList{":1", ":4"};
        QTest::newRow("chat json array")
            << "c.json"
            << QByteArray(
                   "[\n  {\"messages\": [{\"role\": \"user\", \"content\": \"u\"},\n"
                   "                {\"role\": \"assistant\", \"content\": \"a\"}]},\n"
                   "  {\n    \"messages\": [{\"role\": \"assistant\", \"content\": \"[x]\"}]\n  }\n]\n")
            << int(Format::Chat) << QStringList{":2", ":4"};
        QTest::newRow("completion json object list")
            << "p.json"
            << QByteArray(
                   "{\"version\": 1, \"data\": [{\"prompt\": \"p\", \"completion\": \"c\"},\r\n"
                   "{\"prompt\": \"p2\", \"completion\": \"c2\"}]}")
            << int(Format::Completion) << QStringList{":1", ":2"};
        QTest::newRow("text jsonl saved as .json")
            << "t.json" << QByteArray("{\"text\": \"one\"}\n{\"text\": \"two\"}\n") << int(Format::Text)
            << QStringList{":1", ":2"};
        QTest::newRow("single row .json")
            << "s.json" << QByteArray("{\"text\": \"only\"}") << int(Format::Text) << QStringList{":1"};
    }
    void autodetect() {
        QFETCH(QString, name);
        QFETCH(QByteArray, content);
        QFETCH(int, format);
        QFETCH(QStringList, sources);
        const std::string path = write(name, content);
        const LoadedRows rows = load_rows(path, {});
        QCOMPARE(int(rows.format), format);
        QCOMPARE(rows.skipped, int64_t{0});
        QCOMPARE(qsizetype(rows.rows.size()), sources.size());
        for (int i = 0; i < sources.size(); ++i)
            QCOMPARE(QString::fromStdString(rows.rows[size_t(i)].source), QString::fromStdString(path) + sources[i]);
    }

    void row_contents() {
        const LoadedRows a =
            load_rows(write("rows.jsonl",
                            "{\"instruction\": \"Add.\", \"input\": \"2 and 3\", \"output\": \"5\"}\n"
                            "{\"instruction\": \"Say hi.\", \"input\": null, \"output\": \"hi\", \"extra\": 1}\n"),
                      {});
        QVERIFY(a.rows[0].alpaca);
        QCOMPARE(a.rows[0].instruction, std::string("Add."));
        QCOMPARE(a.rows[0].input, std::string("2 and 3"));
        QCOMPARE(a.rows[0].messages.size(), size_t(2));
        QCOMPARE(a.rows[0].messages[0].role, std::string("user"));
        QCOMPARE(a.rows[0].messages[0].content, std::string("Add.\n\n2 and 3"));
        QCOMPARE(a.rows[0].messages[1].content, std::string("5"));
        QCOMPARE(a.rows[1].messages[0].content, std::string("Say hi."));
        QCOMPARE(a.rows[1].input, std::string());

        const LoadedRows c = load_rows(write("c.jsonl", "{\"prompt\": \"The sky is\", \"completion\": \" blue\"}"), {});
        QCOMPARE(c.rows[0].messages[0].role, std::string("user"));
        QCOMPARE(c.rows[0].messages[1].role, std::string("assistant"));
        QCOMPARE(c.rows[0].messages[1].content, std::string(" blue"));

        // .txt: blank-line separated documents, inner line breaks kept, CRLF and whitespace-only lines handled.
        const std::string txt = write("docs.txt", "First line\nsecond line\n\n\n \t\nSecond doc\r\n\r\nThird\n");
        const LoadedRows t = load_rows(txt, {});
        QCOMPARE(int(t.format), int(Format::Text));
        QCOMPARE(t.rows.size(), size_t(3));
        QCOMPARE(t.rows[0].text, std::string("First line\nsecond line"));
        QCOMPARE(t.rows[1].text, std::string("Second doc"));
        QCOMPARE(t.rows[2].text, std::string("Third"));
        QCOMPARE(t.rows[2].source, txt + ":#3");
        QVERIFY(t.rows[0].messages.empty());
    }

    void bad_rows_data() {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("what");
        const QByteArray alpaca = "{\"instruction\": \"i\", \"output\": \"o\"}\n";
        QTest::newRow("invalid json") << QByteArray("{\"text\": \"a\"}\n{\"text\": \"b\"\n") << 2 << "invalid JSON";
        QTest::newRow("invalid utf-8") << QByteArray("{\"text\": \"a\xff\"}\n") << 1 << "invalid JSON";
        // nlohmann throws out_of_range, not parse_error, for this (fuzz_data_row, a longer local run).
        QTest::newRow("number overflow") << QByteArray("{\"text\": \"a\"}\n{\"text\": \"b\", \"n\": 1e400}\n") << 2
                                         << "invalid JSON: the number 1e400 is beyond the range of a double";
        QTest::newRow("not an object") << QByteArray("[1, 2]\n") << 1 << "a row must be a JSON object, not an array";
        QTest::newRow("unknown keys") << QByteArray("{\"question\": \"q\"}") << 1 << "cannot tell the format";
        QTest::newRow("missing key") << alpaca + "{\"instruction\": \"i\"}\n" << 2 << "missing \"output\"";
        QTest::newRow("wrong type") << alpaca + "\n{\"instruction\": \"i\", \"output\": 5}\n"
                                    << 3 << "\"output\" must be a string, not a number";
        QTest::newRow("other format") << alpaca + "{\"text\": \"t\"}\n" << 2 << "missing \"instruction\"";
        QTest::newRow("input type") << QByteArray("{\"instruction\": \"i\", \"input\": [], \"output\": \"o\"}") << 1
                                    << "\"input\" must be a string, not an array";
        QTest::newRow("empty messages") << QByteArray("{\"messages\": []}") << 1 << "\"messages\" is empty";
        QTest::newRow("messages type") << QByteArray("{\"messages\": \"hi\"}") << 1 << "must be an array";
        QTest::newRow("message type") << QByteArray("{\"messages\": [\"hi\"]}") << 1
                                      << "messages[0] must be an object, not a string";
        QTest::newRow("unknown role")
            << QByteArray(
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}, {\"role\": \"bot\", "
                   "\"content\": \"b\"}]}")
            << 1 << "messages[1].role 'bot' is not system, user or assistant";
        QTest::newRow("null content") << QByteArray("{\"messages\": [{\"role\": \"assistant\", \"content\": null}]}")
                                      << 1 << "messages[0].content must be a string, not a null";
        QTest::newRow("no assistant") << QByteArray("{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}]}") << 1
                                      << "no assistant message";
        QTest::newRow("empty text") << QByteArray("{\"text\": \"x\"}\n{\"text\": \"\"}") << 2 << "\"text\" is empty";
    }
    void number_overflow_in_a_json_document() {
        const std::string path = write("big.json", "[{\"text\": \"a\", \"n\": 1e400}]");
        const QString msg = error_of([&] { load_rows(path, {}); });
        QCOMPARE(msg, QString::fromStdString(path) + ": invalid JSON: the number 1e400 is beyond the range of a double");
    }
    void bad_rows() {
        QFETCH(QByteArray, content);
        QFETCH(int, line);
        QFETCH(QString, what);
        const std::string path = write("bad.jsonl", content);
        const QString msg = error_of([&] { load_rows(path, {}); });
        const QString where = QString::fromStdString(path) + ":" + QString::number(line) + ": ";
        QVERIFY2(msg.startsWith(where) && msg.contains(what), qPrintable(msg));
        QVERIFY(!msg.contains('\n'));

        // Skipped instead: counted with the same reason; a file left without rows is an error of its own.
        LoadOptions skip;
        skip.skip_bad_rows = true;
        LoadedRows r;
        const QString left = error_of([&] { r = load_rows(path, skip); });
        if (!left.isEmpty()) {
            QCOMPARE(left, QString::fromStdString(path) + ": no valid rows (1 skipped as bad)");
        } else {
            QCOMPARE(r.skipped, int64_t{1});
            QCOMPARE(r.rows.size(), size_t(1));
            QCOMPARE(r.skipped_reasons, std::vector<std::string>{msg.toStdString()});
        }
    }

    void skip_bad_rows_counts() {
        QByteArray content;
        for (int i = 0; i < 14; ++i) content += (i % 2 ? "{\"text\": 3}\n" : "{\"text\": \"ok\"}\n");
        content += "not json\n";
        for (int i = 0; i < 6; ++i) content += "{\"text\": null}\n";
        const std::string path = write("mixed.jsonl", content);
        QVERIFY(error_of([&] { load_rows(path, {}); }).startsWith(QString::fromStdString(path) + ":2: "));
        LoadOptions skip;
        skip.skip_bad_rows = true;
        const LoadedRows r = load_rows(path, skip);
        QCOMPARE(r.rows.size(), size_t(7));
        QCOMPARE(r.skipped, int64_t{14});
        QCOMPARE(r.skipped_reasons.size(), size_t(10));  // only the first few reasons are kept
        QCOMPARE(r.skipped_reasons[0], path + ":2: \"text\" must be a string, not a number");
        QCOMPARE(r.skipped_reasons[9], path + ":17: \"text\" must be a string, not a null");
        QVERIFY(QString::fromStdString(r.skipped_reasons[7])
                    .startsWith(QString::fromStdString(path) + ":15: invalid JSON: syntax error"));
        QCOMPARE(r.rows[3].source, path + ":7");
    }

    void bad_files() {
        const std::string pretty = write("pretty.json", "[\n  {\"text\": \"one\"},\n  {\n    \"text\": 2\n  }\n]\n");
        QCOMPARE(error_of([&] { load_rows(pretty, {}); }),
                 QString::fromStdString(pretty) + ":3: \"text\" must be a string, not a number");
        const std::string broken = write("broken.json", "[\n {\"text\": \"a\"},\n {\"text\": }\n]");
        QVERIFY(
            error_of([&] { load_rows(broken, {}); }).startsWith(QString::fromStdString(broken) + ":3: invalid JSON"));
        const std::string empty = write("empty.jsonl", "\n  \n");
        QCOMPARE(error_of([&] { load_rows(empty, {}); }), QString::fromStdString(empty) + ": no rows in the file");
        const std::string empty_array = write("empty.json", "[]");
        QCOMPARE(error_of([&] { load_rows(empty_array, {}); }),
                 QString::fromStdString(empty_array) + ": no rows in the file");
        const std::string two_lists = write("lists.json", "{\"a\": [], \"b\": []}");
        QVERIFY(error_of([&] { load_rows(two_lists, {}); }).contains("more than one list"));
        const std::string scalar = write("scalar.json", "42");
        QVERIFY(error_of([&] { load_rows(scalar, {}); }).contains("expected an array of rows"));
        const std::string csv = write("rows.csv", "a,b\n");
        QVERIFY(error_of([&] { load_rows(csv, {}); }).contains("unknown file extension '.csv'"));
        const QString missing = error_of([&] { load_rows(dir_.path().toStdString() + "/none.jsonl", {}); });
        QVERIFY2(missing.contains("none.jsonl: cannot open data file"), qPrintable(missing));
        LoadOptions alpaca;
        alpaca.format = Format::Alpaca;
        QVERIFY(error_of([&] { load_rows(write("x.txt", "doc"), alpaca); }).contains("holds plain text documents"));
        const std::string text_rows = write("given.jsonl", "{\"text\": \"t\"}");
        QVERIFY(error_of([&] {
                    load_rows(text_rows, alpaca);
                }).endsWith(":1: missing \"instruction\" (alpaca rows need instruction and output)"));
        const std::string bad_txt = write("bad.txt", "fine\n\nalso\nbro\xc3 ken\n");
        QCOMPARE(error_of([&] { load_rows(bad_txt, {}); }),
                 QString::fromStdString(bad_txt) + ":#2: invalid UTF-8 on line 4, byte 4");
    }

    void render_alpaca() {
        const LoadedRows a = load_rows(write("r.jsonl",
                                             "{\"instruction\": \"Add.\", \"input\": \"2 and 3\", \"output\": \"5\"}\n"
                                             "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n"),
                                       {});
        const std::vector<Segment> with = render(a.rows[0], Template::Alpaca);
        QCOMPARE(texts(with),
                 (std::vector<std::string>{
                     std::string(kAlpacaWithInput) + "Add.\n\n### Input:\n2 and 3\n\n### Response:", "5"}));
        QVERIFY(!with[0].is_response && with[1].is_response && with[1].eos_after && !with[0].eos_after);
        QCOMPARE(texts(render(a.rows[1], Template::Alpaca)),
                 (std::vector<std::string>{std::string(kAlpacaNoInput) + "Say hi.\n\n### Response:", "hi"}));
        // A chat: system prepended plainly; each later pair a new instruction block.
        const Row c =
            chat({{"system", "Be brief."}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}, {"assistant", "A2"}});
        QCOMPARE(texts(render(c, Template::Alpaca)),
                 (std::vector<std::string>{"Be brief.\n\n" + std::string(kAlpacaNoInput) + "Q1\n\n### Response:", "A1",
                                           "### Instruction:\nQ2\n\n### Response:", "A2"}));
    }

    void render_llama2() {
        const Row c = chat({{"system", "Be brief."},
                            {"user", "Q1"},
                            {"assistant", "A1"},
                            {"user", "Q2"},
                            {"user", "More."},
                            {"assistant", "A2"}});
        const std::vector<Segment> s = render(c, Template::Llama2);
        QCOMPARE(texts(s), (std::vector<std::string>{"[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nQ1 [/INST]", " A1",
                                                     "[INST] Q2\n\nMore. [/INST]", " A2"}));
        QVERIFY(!s[0].bos_before && !s[1].bos_before && s[2].bos_before && !s[3].bos_before);
        QVERIFY(s[1].eos_after && s[3].eos_after && !s[0].eos_after && !s[2].eos_after);
        QCOMPARE(texts(render(chat({{"user", "Hi"}, {"assistant", "Hello"}}), Template::Llama2)),
                 (std::vector<std::string>{"[INST] Hi [/INST]", " Hello"}));
    }

    void render_chatml_plain_text() {
        const Row c = chat({{"system", "S"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}, {"assistant", "A2"}});
        const std::vector<Segment> s = render(c, Template::ChatML);
        QCOMPARE(texts(s),
                 (std::vector<std::string>{
                     "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\n",
                     "A1<|im_end|>", "\n<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n", "A2<|im_end|>"}));
        QVERIFY(s[1].is_response && s[1].eos_after && s[3].is_response && !s[2].is_response);
        QCOMPARE(texts(render(c, Template::Plain)), (std::vector<std::string>{"S\n\nU1", "A1", "U2", "A2"}));
        Row doc;
        doc.text = "A whole\ndocument.";
        for (Template t : {Template::Alpaca, Template::Llama2, Template::ChatML, Template::Plain}) {
            const std::vector<Segment> d = render(doc, t);
            QCOMPARE(texts(d), std::vector<std::string>{"A whole\ndocument."});
            QVERIFY(d[0].is_response && d[0].eos_after);
        }
    }

    void tokenize_alpaca() {
        const LoadedRows a = load_rows(write("t.jsonl",
                                             "{\"instruction\": \"Name the capital of France.\", "
                                             "\"output\": \"Paris is the capital.\"}"),
                                       {});
        const Ids p = enc(std::string(kAlpacaNoInput) + "Name the capital of France.\n\n### Response:");
        const Ids r = enc("Paris is the capital.");
        const Example ex = tokenize(a.rows[0], *tok_, {Template::Alpaca, 512, false});
        QCOMPARE(ex.input_ids, concat({{bos()}, p, r, {eos()}}));
        QCOMPARE(ex.labels, concat({ignored(1 + p.size()), r, {eos()}}));
        QVERIFY(!ex.truncated);
        QCOMPARE(ex.source, a.rows[0].source);

        // train_on_prompt: every token but the leading BOS counts.
        const Example all = tokenize(a.rows[0], *tok_, {Template::Alpaca, 512, true});
        QCOMPARE(all.input_ids, ex.input_ids);
        QCOMPARE(all.labels, concat({{kIgnoreIndex}, p, r, {eos()}}));

        // Truncation keeps the first max_seq_len tokens.
        const int64_t cut = int64_t(p.size()) + 3;
        const Example t = tokenize(a.rows[0], *tok_, {Template::Alpaca, cut, false});
        QVERIFY(t.truncated);
        QCOMPARE(t.input_ids, Ids(ex.input_ids.begin(), ex.input_ids.begin() + cut));
        QCOMPARE(t.labels, Ids(ex.labels.begin(), ex.labels.begin() + cut));
        QVERIFY(!tokenize(a.rows[0], *tok_, {Template::Alpaca, int64_t(ex.input_ids.size()), false}).truncated);
        QVERIFY(error_of([&] { tokenize(a.rows[0], *tok_, {Template::Alpaca, 0, false}); }).contains("max_seq_len"));
    }

    void tokenize_llama2_turns() {
        const Row c = chat({{"system", "You answer in one word."},
                            {"user", "Name a colour."},
                            {"assistant", "Blue."},
                            {"user", "Another one?"},
                            {"assistant", "Green, of course."}});
        const std::string p1 = "[INST] <<SYS>>\nYou answer in one word.\n<</SYS>>\n\nName a colour. [/INST]";
        const std::string p2 = "[INST] Another one? [/INST]";
        // The response's leading space is the dummy prefix: the same ids as the whole string.
        QCOMPARE(concat({enc(p1), enc("Blue.")}), enc(p1 + " Blue."));
        QCOMPARE(concat({enc(p2), enc("Green, of course.")}), enc(p2 + " Green, of course."));
        const Example ex = tokenize(c, *tok_, {Template::Llama2, 512, false});
        const Ids r1 = enc("Blue."), r2 = enc("Green, of course.");
        QCOMPARE(ex.input_ids, concat({{bos()}, enc(p1), r1, {eos()}, {bos()}, enc(p2), r2, {eos()}}));
        QCOMPARE(ex.labels,
                 concat({ignored(1 + enc(p1).size()), r1, {eos()}, ignored(1 + enc(p2).size()), r2, {eos()}}));
        const Example all = tokenize(c, *tok_, {Template::Llama2, 512, true});
        Ids expected = ex.input_ids;
        expected[0] = kIgnoreIndex;
        QCOMPARE(all.labels, expected);
    }

    void tokenize_chatml_and_text() {
        const Row c = chat({{"user", "Hi there"}, {"assistant", "Hello!"}});
        const Ids p = enc("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
        const Ids r = enc("Hello!<|im_end|>");
        const Example ex = tokenize(c, *tok_, {Template::ChatML, 512, false});
        QCOMPARE(ex.input_ids, concat({{bos()}, p, r, {eos()}}));
        QCOMPARE(ex.labels, concat({ignored(1 + p.size()), r, {eos()}}));

        Row doc;
        doc.source = "d.txt:#1";
        doc.text = "Some plain text,\nwith two lines.";
        const Ids d = enc(doc.text);
        const Example t = tokenize(doc, *tok_, {Template::Llama2, 512, false});
        QCOMPARE(t.input_ids, concat({{bos()}, d, {eos()}}));
        QCOMPARE(t.labels, concat({{kIgnoreIndex}, d, {eos()}}));

        // A completion continuing its prompt after a space (plain template).
        const Row comp = chat({{"user", "The sky is"}, {"assistant", " blue"}});
        QCOMPARE(tokenize(comp, *tok_, {Template::Plain, 512, false}).input_ids,
                 concat({{bos()}, enc("The sky is"), enc("blue"), {eos()}}));
    }

    void tokenize_without_bos() {
        QTemporaryDir model;
        QVERIFY(QFile::copy(kTokenizerDir + "/tokenizer.model", model.path() + "/tokenizer.model"));
        QFile cfg(model.path() + "/tokenizer_config.json");
        QVERIFY(cfg.open(QIODevice::WriteOnly));
        cfg.write("{\"add_bos_token\": false}");
        cfg.close();
        const auto tok = Tokenizer::load(model.path().toStdString());
        QVERIFY(!tok->add_bos());
        const Example ex = tokenize(chat({{"user", "Hi"}, {"assistant", "Yo"}}), *tok, {Template::Plain, 512, false});
        QCOMPARE(ex.input_ids, concat({enc("Hi"), enc("Yo"), {eos()}}));
        QCOMPARE(ex.labels, concat({ignored(enc("Hi").size()), enc("Yo"), {eos()}}));
    }

    void build_counts() {
        std::string long_words;
        for (int i = 0; i < 80; ++i) long_words += "license ";
        const std::string path =
            write("build.jsonl", QByteArray::fromStdString("{\"prompt\": \"Hi\", \"completion\": \"there\"}\n"
                                                           "{\"prompt\": \"" +
                                                           long_words +
                                                           "\", \"completion\": \"x\"}\n"
                                                           "{\"prompt\": \"a\", \"completion\": \"" +
                                                           long_words +
                                                           "\"}\n"
                                                           "{\"oops\": 1}\n"));
        LoadOptions load;
        load.skip_bad_rows = true;
        const Dataset ds = build_dataset(path, *tok_, load, {Template::Plain, 24, false});
        QCOMPARE(int(ds.format), int(Format::Completion));
        QCOMPARE(ds.skipped_rows, int64_t{1});
        QCOMPARE(ds.truncated, int64_t{2});
        QCOMPARE(ds.without_labels, int64_t{1});
        QCOMPARE(ds.examples.size(), size_t(2));
        QCOMPARE(ds.examples[0].source, path + ":1");
        QCOMPARE(ds.examples[1].source, path + ":3");
        QCOMPARE(ds.examples[1].input_ids.size(), size_t(24));
        const std::string hopeless = write(
            "hopeless.jsonl", QByteArray::fromStdString("{\"prompt\": \"" + long_words + "\", \"completion\": \"x\"}"));
        QVERIFY(error_of([&] {
                    build_dataset(hopeless, *tok_, {}, {Template::Plain, 24, false});
                }).startsWith(QString::fromStdString(hopeless) + ": no usable example"));
    }

    void shuffle_is_uniform() {
        // 24000 seeds over the 24 permutations of 4: chi-square (23 dof) below its p = 0.001 point, 49.73.
        std::map<std::vector<size_t>, int> counts;
        const int trials = 24000;
        for (int s = 0; s < trials; ++s) ++counts[shuffled_indices(4, uint64_t(s))];
        QCOMPARE(counts.size(), size_t(24));
        double chi2 = 0;
        for (const auto& [perm, n] : counts) chi2 += (n - 1000.0) * (n - 1000.0) / 1000.0;
        QVERIFY2(chi2 < 49.73, qPrintable(QString::number(chi2)));
        QCOMPARE(shuffled_indices(50, 7), shuffled_indices(50, 7));
        QVERIFY(shuffled_indices(50, 7) != shuffled_indices(50, 8));
        QVERIFY(shuffled_indices(0, 1).empty());
    }

    void split() {
        std::vector<Example> all;
        for (int i = 0; i < 10; ++i) all.push_back(example(i, 3));
        std::vector<Example> train, val, train2, val2;
        split_validation(all, 0.2, 42, &train, &val);
        QCOMPARE(train.size(), size_t(8));
        QCOMPARE(val.size(), size_t(2));
        std::set<std::string> seen;
        for (const auto* part : {&train, &val})
            for (const Example& e : *part) QVERIFY(seen.insert(e.source).second);  // disjoint
        QCOMPARE(seen.size(), size_t(10));                                         // and complete
        for (size_t i = 1; i < train.size(); ++i) QVERIFY(train[i - 1].input_ids[1] < train[i].input_ids[1]);
        split_validation(all, 0.2, 42, &train2, &val2);
        QCOMPARE(val2[0].source, val[0].source);
        QCOMPARE(val2[1].source, val[1].source);
        bool differs = false;
        for (uint64_t seed = 1; seed < 6 && !differs; ++seed) {
            split_validation(all, 0.2, seed, &train2, &val2);
            differs = val2[0].source != val[0].source || val2[1].source != val[1].source;
        }
        QVERIFY(differs);
        split_validation(all, 0.01, 1, &train2, &val2);  // at least one each
        QCOMPARE(val2.size(), size_t(1));
        split_validation(all, 0.0, 1, &train2, &val2);
        QCOMPARE(train2.size(), size_t(10));
        QVERIFY(val2.empty());
        split_validation({all[0]}, 0.5, 1, &train2, &val2);
        QCOMPARE(train2.size(), size_t(1));
        QVERIFY(val2.empty());
        QVERIFY(error_of([&] { split_validation(all, 1.0, 1, &train2, &val2); }).contains("[0, 1)"));
    }

    void collate_pads_right() {
        Example a, b;
        a.input_ids = {1, 5, 6, 7};
        a.labels = {kIgnoreIndex, kIgnoreIndex, 6, 7};
        b.input_ids = {1, 8};
        b.labels = {kIgnoreIndex, 8};
        const Batch batch = collate({&a, &b}, padding_id(*tok_));
        QCOMPARE(padding_id(*tok_), int64_t{0});  // the test tokenizer, like LLaMA's, has no pad
        QVERIFY(batch.input_ids.dtype() == at::kLong && batch.labels.dtype() == at::kLong &&
                batch.attention_mask.dtype() == at::kLong);
        QVERIFY(at::equal(batch.input_ids, long_tensor({{1, 5, 6, 7}, {1, 8, 0, 0}})));
        QVERIFY(at::equal(batch.attention_mask, long_tensor({{1, 1, 1, 1}, {1, 1, 0, 0}})));
        QVERIFY(at::equal(batch.labels, long_tensor({{-100, -100, 6, 7}, {-100, 8, -100, -100}})));
        QCOMPARE(batch.counted_tokens, int64_t{3});
        QVERIFY(at::equal(collate({&b}, 9).input_ids, long_tensor({{1, 8}})));
        Example empty;
        QVERIFY(!error_of([&] { collate({&empty}, 0); }).isEmpty());
    }

    void batcher_epochs() {
        std::vector<Example> all;
        for (int i = 0; i < 10; ++i) all.push_back(example(i, 2 + size_t(i % 3)));
        Batcher batcher(all, 5, 0);
        QCOMPARE(batcher.batches_per_epoch(4), int64_t{3});
        for (int64_t epoch = 0; epoch < 3; ++epoch) {
            std::vector<int64_t> order;
            for (int64_t k = 0; k < 3; ++k) {
                const Batch b = batcher.next_batch(4);
                QCOMPARE(b.epoch, epoch);
                QCOMPARE(b.input_ids.size(0), k < 2 ? int64_t{4} : int64_t{2});  // the epoch's tail is short
                for (int64_t t : tags(b)) order.push_back(t);
            }
            QCOMPARE(batcher.epoch_progress(), double(epoch + 1));
            std::vector<int64_t> sorted = order;
            std::sort(sorted.begin(), sorted.end());
            QCOMPARE(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));  // each example once
            std::vector<int64_t> expected;
            for (size_t i : shuffled_indices(10, 5 + uint64_t(epoch))) expected.push_back(int64_t(i));
            QCOMPARE(order, expected);  // the documented order: shuffled_indices(n, seed + epoch)
        }
        QVERIFY(!error_of([&] { batcher.next_batch(0); }).isEmpty());
        QVERIFY(!error_of([] { Batcher empty({}, 1, 0); }).isEmpty());
    }

    void batcher_determinism_and_resume() {
        std::vector<Example> all;
        for (int i = 0; i < 7; ++i) all.push_back(example(i, 2 + size_t(i)));
        Batcher a(all, 11, 0), same(all, 11, 0), other(all, 12, 0);
        std::vector<std::vector<int64_t>> seq_a, seq_other;
        BatcherState saved;
        std::vector<Batch> after_save;
        for (int k = 0; k < 9; ++k) {
            if (k == 5) saved = a.state();
            const Batch b = a.next_batch(3);
            const Batch s = same.next_batch(3);
            QVERIFY(at::equal(b.input_ids, s.input_ids) && at::equal(b.labels, s.labels) &&
                    at::equal(b.attention_mask, s.attention_mask));
            seq_a.push_back(tags(b));
            seq_other.push_back(tags(other.next_batch(3)));
            if (k >= 5) after_save.push_back(b);
        }
        QVERIFY(seq_a != seq_other);
        QCOMPARE(saved.epoch, int64_t{1});
        QCOMPARE(saved.position, int64_t{6});
        QCOMPARE(saved.num_examples, int64_t{7});

        Batcher resumed(all, 11, 0);
        resumed.restore(saved);
        QCOMPARE(resumed.epoch_progress(), 1.0 + 6.0 / 7.0);
        for (const Batch& expected : after_save) {
            const Batch b = resumed.next_batch(3);
            QCOMPARE(b.epoch, expected.epoch);
            QCOMPARE(b.counted_tokens, expected.counted_tokens);
            QVERIFY(at::equal(b.input_ids, expected.input_ids) && at::equal(b.labels, expected.labels));
        }
        Batcher smaller(std::vector<Example>(all.begin(), all.begin() + 6), 11, 0);
        QVERIFY(error_of([&] { smaller.restore(saved); }).contains("saved for 7 examples"));
        QVERIFY(!error_of([&] { resumed.restore({0, 8, 7}); }).isEmpty());
    }

    void eval_batches_in_order() {
        std::vector<Example> all;
        for (int i = 0; i < 5; ++i) all.push_back(example(i, 2));
        EvalBatches eval(all, 0);
        std::vector<std::vector<int64_t>> seen;
        Batch b;
        while (eval.next(2, &b)) seen.push_back(tags(b));
        QCOMPARE(seen, (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}}));
        eval.reset();
        QVERIFY(eval.next(5, &b));
        QCOMPARE(tags(b), (std::vector<int64_t>{0, 1, 2, 3, 4}));
        QVERIFY(!eval.next(5, &b));
    }

    // A model folder: the test tokenizer + a tokenizer_config.json with the
    // real Llama 2 chat template (tests/data/chat_templates/llama2.jinja).
    std::string llama2_folder(QTemporaryDir& model) {
        if (!QFile::exists(model.path() + "/tokenizer.model"))
            QFile::copy(kTokenizerDir + "/tokenizer.model", model.path() + "/tokenizer.model");
        QFile cfg(model.path() + "/tokenizer_config.json");
        if (!cfg.open(QIODevice::WriteOnly | QIODevice::Truncate)) qFatal("cannot write tokenizer_config.json");
        const nlohmann::json j = {{"bos_token", "<s>"},
                                  {"eos_token", "</s>"},
                                  {"chat_template", read_all(kChatTemplates + "/llama2.jinja").toStdString()}};
        cfg.write(QByteArray::fromStdString(j.dump()));
        return model.path().toStdString();
    }

    void model_template_segments_follow_the_golden_spans() {
        QTemporaryDir model;
        RenderOptions opts;
        const std::string in_force = resolve_template("model", llama2_folder(model), &opts);
        QVERIFY2(in_force.find("chat template") != std::string::npos, in_force.c_str());
        QCOMPARE(int(opts.templ), int(Template::Model));
        const GoldenChat g = golden_chat("llama2", "system_multi_turn");
        const std::vector<Segment> segs = render(chat(g.messages), opts);
        std::string text;
        std::vector<std::pair<size_t, size_t>> spans;
        for (const Segment& s : segs) {
            if (s.is_response) spans.emplace_back(text.size(), text.size() + s.text.size());
            text += s.text;
            QVERIFY(!s.bos_before && !s.eos_after);  // the template writes them as text
        }
        QCOMPARE(text, g.text);
        QCOMPARE(spans, g.spans);
    }

    void model_template_tokens_and_labels() {
        QTemporaryDir model;
        RenderOptions opts;
        resolve_template("model", llama2_folder(model), &opts);
        const GoldenChat g = golden_chat("llama2", "system_multi_turn");
        // The text between the template's <s> … </s>: prompt [begin, span) and response span.
        const auto piece = [&](size_t from, size_t to) { return g.text.substr(from, to - from); };
        QCOMPARE(g.spans.size(), size_t(2));
        const size_t s1 = g.text.find("<s>") + 3, e1 = g.text.find("</s>");
        const size_t s2 = g.text.find("<s>", e1) + 3, e2 = g.text.find("</s>", s2);
        const std::string p1 = piece(s1, g.spans[0].first), r1 = piece(g.spans[0].first, e1);
        const std::string p2 = piece(s2, g.spans[1].first), r2 = piece(g.spans[1].first, e2);
        QVERIFY(r1.size() > 1 && r1[0] == ' ' && r2[0] == ' ');
        // The dummy prefix takes the response's leading space, as for the built-in llama2.
        QCOMPARE(concat({enc(p1), enc(r1.substr(1))}), enc(p1 + r1));
        const Example ex = tokenize(chat(g.messages), *tok_, opts);
        QCOMPARE(ex.input_ids, concat({{bos()}, enc(p1), enc(r1.substr(1)), {eos()}, {bos()}, enc(p2),
                                       enc(r2.substr(1)), {eos()}}));
        QCOMPARE(ex.labels, concat({ignored(1 + enc(p1).size()), enc(r1.substr(1)), {eos()},
                                    ignored(1 + enc(p2).size()), enc(r2.substr(1)), {eos()}}));
        opts.train_on_prompt = true;
        Ids all = ex.input_ids;
        all[0] = kIgnoreIndex;  // the template's leading BOS never counts
        QCOMPARE(tokenize(chat(g.messages), *tok_, opts).labels, all);
    }

    void default_template_uses_the_model_template_for_chat_files() {
        QTemporaryDir model;
        const std::string dir = llama2_folder(model);
        RenderOptions opts;
        const std::string in_force = resolve_template("alpaca", dir, &opts);
        QVERIFY2(in_force.find("for chat files, alpaca for the others") != std::string::npos, in_force.c_str());
        QVERIFY(opts.chat_files_only && opts.chat_template);
        const std::string chat_file =
            write("m.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, "
                             "{\"role\": \"assistant\", \"content\": \"Hello\"}]}\n");
        const std::string alpaca_file = write("a.jsonl", "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n");
        RenderOptions model_opts = opts;
        model_opts.templ = Template::Model;
        const Dataset chat_ds = build_dataset(chat_file, *tok_, {}, opts);
        QCOMPARE(chat_ds.examples[0].input_ids, tokenize(load_rows(chat_file, {}).rows[0], *tok_, model_opts).input_ids);
        const Dataset alpaca_ds = build_dataset(alpaca_file, *tok_, {}, opts);
        QCOMPARE(alpaca_ds.examples[0].input_ids,
                 tokenize(load_rows(alpaca_file, {}).rows[0], *tok_, {Template::Alpaca, 512, false}).input_ids);

        // A folder without a chat template: alpaca stays, and "model" is an error.
        QTemporaryDir plain;
        QVERIFY(QFile::copy(kTokenizerDir + "/tokenizer.model", plain.path() + "/tokenizer.model"));
        RenderOptions none;
        QCOMPARE(resolve_template("alpaca", plain.path().toStdString(), &none), std::string("alpaca"));
        QVERIFY(!none.chat_files_only && !none.chat_template);
        QVERIFY(error_of([&] { resolve_template("model", plain.path().toStdString(), &none); })
                    .contains("no chat template"));
        QVERIFY(error_of([&] { parse_template("vicuna", "data.template"); }).contains("llama3 or model"));
    }

    void render_llama3_builtin() {
        const Row c = chat({{"system", " Be brief. "}, {"user", "Q1"}, {"assistant", "A1\n"}, {"user", "Q2"}});
        const std::vector<Segment> s = render(c, Template::Llama3);
        QCOMPARE(texts(s), (std::vector<std::string>{
                               "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                               "<|start_header_id|>user<|end_header_id|>\n\nQ1<|eot_id|>"
                               "<|start_header_id|>assistant<|end_header_id|>\n\n",
                               "A1<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|>"}));
        QVERIFY(s[1].is_response && !s[1].eos_after && !s[0].is_response && !s[2].is_response);
        QCOMPARE(int(parse_template("LLAMA3", "t")), int(Template::Llama3));
        QCOMPARE(std::string(template_name(Template::Model)), std::string("model"));
    }
};

QTEST_GUILESS_MAIN(TestData)
#include "test_data.moc"
