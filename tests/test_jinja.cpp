// The Jinja2 interpreter and the model chat templates (torch-free).
// Golden outputs: tests/data/chat_templates/golden.json, made by
// tests/reference/make_chat_template_goldens.py with Debian's python3-jinja2 set
// up as transformers sets it up. Every comparison is byte for byte.
#include <QtTest/QtTest>

#include <ctime>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <set>
#include <unistd.h>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/chat_template.h"
#include "data/jinja/interpreter.h"
#include "data/jinja/parser.h"
#include "test_support.h"

using droplora::data::ChatTemplate;
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

using droplora::testing::error_of;
using droplora::testing::kNoError;
using droplora::testing::read_file;

namespace {

const fs::path kDir = fs::path(DROPLORA_TEST_DATA) / "chat_templates";

const json& golden() {
    static const json g = json::parse(read_file(kDir / "golden.json"));
    return g;
}

std::tm golden_now() {
    std::tm tm{};
    std::istringstream in(golden()["now"].get<std::string>());
    in >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S");
    tm.tm_isdst = -1;
    std::mktime(&tm);  // fills the weekday and day of the year
    return tm;
}

std::optional<std::string> opt_string(const json& o, const char* key) {
    if (!o.contains(key)) return std::nullopt;
    return o[key].get<std::string>();
}

ChatTemplate load_template(const std::string& name) {
    const json& tokens = golden()["templates"][name];
    ChatTemplate t(read_file(kDir / (name + ".jinja")), name + ".jinja", opt_string(tokens, "bos_token"),
                   opt_string(tokens, "eos_token"));
    t.set_now(golden_now());
    return t;
}

// Where two texts part, for a message a person can read.
std::string first_difference(const std::string& want, const std::string& got) {
    size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
    const size_t from = i < 40 ? 0 : i - 40;
    const auto quoted = [](const std::string& x) { return json(x).dump(-1, ' ', false, json::error_handler_t::replace); };
    return "at byte " + std::to_string(i) + ": want " + quoted(want.substr(from, 80)) + " got " +
           quoted(got.substr(from, 80));
}

std::string render_snippet(const std::string& source, const json& variables, const std::string& name = "snippet") {
    droplora::data::jinja::Dict vars;
    for (auto it = variables.begin(); it != variables.end(); ++it)
        vars.set(it.key(), droplora::data::jinja::Value::from_json(it.value()));
    return droplora::data::jinja::render(droplora::data::jinja::parse(source, name), vars, golden_now());
}

}  // namespace

class TestJinja : public QObject {
    Q_OBJECT

private slots:
    void real_templates_match_jinja2_data();
    void real_templates_match_jinja2();
    void constructs_match_jinja2_data();
    void constructs_match_jinja2();
    void every_golden_template_is_covered();
    void raise_exception_names_template_and_line();
    void unsupported_constructs_are_errors_naming_the_line();
    void undefined_misuse_is_an_error();
    void sandbox_refuses_changing_input();
    void reads_template_from_model_folder();
    void untrusted_templates_stop_with_errors();
};

// Findings of tests/fuzz/fuzz_chat_template.cpp and the sandbox's limits: each an
// Error of one line that names the template, never a crash, a hang or a huge string.
void TestJinja::untrusted_templates_stop_with_errors() {
    const json messages = json::parse(R"([{"role": "user", "content": "hi"}])");
    const auto error = [&](const std::string& source) {
        return error_of([&] { ChatTemplate("x" + source, "evil.jinja", std::nullopt, std::nullopt).render(messages, false); });
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{% for mess\xa5\x98" "e in messages %}{% endfor %}", "not valid UTF-8 (byte 12)"},
        {"{{ " + std::string(150, '(') + "1" + std::string(150, ')') + " }}", "nests deeper than 100 levels"},
        {"{{ 1" + [] { std::string s; for (int i = 0; i < 600; ++i) s += " ~ 1"; return s; }() + " }}",
         "nested deeper than 500 operations"},
        {"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "2 million steps"},
        {"{{ 'x' * 100000000 }}", "more than 16 MiB"},
        {"{% for i in range(5000) %}{{ 'y' * 10000 }}{% endfor %}", "renders more than 16 MiB"},
        // An attribute name with a line break (fuzz_chat_template, a longer local run): escaped in the message.
        {"{% for message in messages %}{{ message['}}\ne'] + 'x' }}{% endfor %}", "has no attribute '}}\\x0ae'"},
        {"{{ raise_exception('two\nlines') }}", "two\\x0alines"},
        // 64-bit integers (Python's do not overflow; no real template comes near): fuzz findings of 3**334.
        {"{{ 687 + 3 ** 334 + 4 }}", "integer overflow in '**'"},
        {"{{ 1 ** 4000000000000000000 }}x{{ 9223372036854775807 + 1 }}", "integer overflow in '+'"},
        {"{{ -9223372036854775807 - 1 - 1 }}", "integer overflow in '-'"},
        {"{{ 4611686018427387904 * 2 }}", "integer overflow in '*'"},
    };
    for (const auto& [source, want] : cases) {
        const std::string e = error(source);
        const std::string shown = want + " wanted for " + source.substr(0, 40) + "…: " + e;
        QVERIFY2(e.rfind("evil.jinja", 0) == 0, shown.c_str());
        QVERIFY2(e.find(want) != std::string::npos, shown.c_str());
        QVERIFY2(e.find('\n') == std::string::npos, shown.c_str());
    }
}

void TestJinja::real_templates_match_jinja2_data() {
    QTest::addColumn<int>("row");
    const json& rows = golden()["rows"];
    for (size_t i = 0; i < rows.size(); ++i) {
        const json& r = rows[i];
        const std::string tag = r["template"].get<std::string>() + "/" + r["conversation"].get<std::string>() +
                                (r["add_generation_prompt"].get<bool>() ? "/gen" : "") +
                                (r["extra"].empty() ? "" : "/" + r["extra"].dump());
        QTest::newRow(tag.c_str()) << static_cast<int>(i);
    }
}

void TestJinja::real_templates_match_jinja2() {
    QFETCH(int, row);
    const json& r = golden()["rows"][static_cast<size_t>(row)];
    const ChatTemplate t = load_template(r["template"].get<std::string>());
    const json& messages = golden()["conversations"][r["conversation"].get<std::string>()];
    const bool agp = r["add_generation_prompt"].get<bool>();
    if (r.contains("error")) {
        const std::string err = error_of([&] { t.render(messages, agp, r["extra"]); });
        QVERIFY2(err != kNoError, "jinja2 refused this conversation, we rendered it");
        QVERIFY2(err.rfind(r["template"].get<std::string>() + ".jinja:", 0) == 0, err.c_str());
        if (r["error_kind"] == "TemplateError")
            QVERIFY2(err.find(r["error"].get<std::string>()) != std::string::npos, err.c_str());
        return;
    }
    const std::string want = r["output"].get<std::string>();
    std::string got;
    const std::string err = error_of([&] { got = t.render(messages, agp, r["extra"]); });
    QVERIFY2(err == kNoError, err.c_str());
    QVERIFY2(got == want, first_difference(want, got).c_str());
    if (agp) return;
    // The loss tokens: what each assistant message adds, as jinja2 renders the prefixes.
    const ChatTemplate::Spans spans = t.render_spans(messages, r["extra"]);
    QVERIFY(spans.text == want);
    std::vector<std::pair<size_t, size_t>> want_spans;
    for (const auto& s : r["assistant_spans"]) want_spans.emplace_back(s[0].get<size_t>(), s[1].get<size_t>());
    QCOMPARE(spans.assistant, want_spans);
}

void TestJinja::constructs_match_jinja2_data() {
    QTest::addColumn<int>("row");
    const json& rows = golden()["snippets"];
    for (size_t i = 0; i < rows.size(); ++i) QTest::newRow(rows[i]["name"].get<std::string>().c_str()) << static_cast<int>(i);
}

void TestJinja::constructs_match_jinja2() {
    QFETCH(int, row);
    const json& r = golden()["snippets"][static_cast<size_t>(row)];
    const std::string source = r["source"].get<std::string>();
    if (r.contains("error")) {
        const std::string err = error_of([&] { render_snippet(source, r["variables"]); });
        QVERIFY2(err.find(r["error"].get<std::string>()) != std::string::npos, err.c_str());
        return;
    }
    const std::string want = r["output"].get<std::string>();
    std::string got;
    const std::string err = error_of([&] { got = render_snippet(source, r["variables"]); });
    QVERIFY2(err == kNoError, err.c_str());
    QVERIFY2(got == want, first_difference(want, got).c_str());
}

void TestJinja::every_golden_template_is_covered() {
    // Each committed template has goldens, and the real-template families the
    // data path is for are among them.
    std::set<std::string> files;
    for (const auto& e : fs::directory_iterator(kDir))
        if (e.path().extension() == ".jinja") files.insert(e.path().stem().string());
    std::set<std::string> golden_names;
    for (const auto& r : golden()["rows"]) golden_names.insert(r["template"].get<std::string>());
    QCOMPARE(golden_names, files);
    for (const char* must : {"llama3_1", "llama3_2", "qwen2_5", "qwen3", "smollm2", "mistral_v0_3", "gemma3", "llama2"})
        QVERIFY2(files.count(must), must);
    QVERIFY(golden()["rows"].size() >= 200);
}

void TestJinja::raise_exception_names_template_and_line() {
    const std::string err = error_of([] {
        render_snippet("a\n{% if true %}\n{{ raise_exception('Roles must alternate') }}\n{% endif %}", json::object(),
                       "my.jinja");
    });
    QCOMPARE(QString::fromStdString(err), QString("my.jinja:3: Roles must alternate"));

    // The real Gemma 3 template refuses two user turns in a row.
    const ChatTemplate gemma = load_template("gemma3");
    const std::string g = error_of([&] {
        gemma.render(json::parse(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])"), false);
    });
    QVERIFY2(g.rfind("gemma3.jinja:", 0) == 0 && g.find("Conversation roles must alternate") != std::string::npos,
             g.c_str());
}

void TestJinja::unsupported_constructs_are_errors_naming_the_line() {
    const struct {
        const char* source;
        const char* where;
        const char* what;
    } cases[] = {
        {"ok\n{% include 'other.jinja' %}", "t.jinja:2", "unsupported tag"},
        {"{% raw %}x{% endraw %}", "t.jinja:1", "unsupported tag"},
        {"a\nb\n{{ x | wordcount }}", "t.jinja:3", "unsupported filter 'wordcount'"},
        {"{{ x is upper_case }}", "t.jinja:1", "unsupported test"},
        {"\n{% for m in messages recursive %}{% endfor %}", "t.jinja:2", "recursive"},
        {"{% if true %}\nno end", "t.jinja:2", "endif"},
        {"{{ 'unclosed }}", "t.jinja:1", "unclosed string"},
        {"{{ 1 +* 2 }}", "t.jinja:1", "unexpected"},
        {"{% set x = 1 %}\n{{ '%s' % x }}", "t.jinja:2", "formatting is not supported"},
        {"{{ 'é'.upper() }}", "t.jinja:1", "non-ASCII"},
        {"{{ f(*args) }}", "t.jinja:1", "*args"},
        {"{{ 'x'.format(1) }}", "t.jinja:1", "'format' is not supported"},
    };
    for (const auto& c : cases) {
        const std::string err = error_of([&] { render_snippet(c.source, json::object(), "t.jinja"); });
        const std::string msg = std::string(c.source) + " -> " + err;
        QVERIFY2(err.rfind(std::string(c.where) + ": ", 0) == 0, msg.c_str());
        QVERIFY2(err.find(c.what) != std::string::npos, msg.c_str());
    }
}

void TestJinja::undefined_misuse_is_an_error() {
    // jinja2's default Undefined: printing is empty, attribute access or arithmetic raises.
    QCOMPARE(QString::fromStdString(render_snippet("[{{ nope }}]", json::object())), QString("[]"));
    QVERIFY(error_of([] { render_snippet("{{ nope.attr }}", json::object()); }).find("'nope' is undefined") !=
            std::string::npos);
    QVERIFY(error_of([] { render_snippet("{{ nope + 1 }}", json::object()); }).find("is undefined") != std::string::npos);
    QVERIFY(error_of([] { render_snippet("{{ d.a.b }}", json{{"d", json::object()}}); })
                .find("'dict object' has no attribute 'a'") != std::string::npos);
    QVERIFY(error_of([] { render_snippet("{{ 'a' + 1 }}", json::object()); }).find("unsupported operand") !=
            std::string::npos);
}

void TestJinja::sandbox_refuses_changing_input() {
    const std::string err = error_of([] { render_snippet("{{ l.append(3) }}", json{{"l", json::array()}}); });
    QVERIFY2(err.find("unsafe") != std::string::npos, err.c_str());
}

void TestJinja::reads_template_from_model_folder() {
    const fs::path dir = fs::temp_directory_path() / ("droplora_test_jinja_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string src = read_file(kDir / "llama3_1.jinja");
    {
        std::ofstream(dir / "tokenizer_config.json")
            << json{{"bos_token", "<|begin_of_text|>"},
                    {"eos_token", {{"content", "<|eot_id|>"}, {"lstrip", false}}},
                    {"chat_template", src}}
                   .dump();
    }
    auto t = droplora::data::load_chat_template(dir.string());
    QVERIFY(t.has_value());
    QCOMPARE(t->bos_token().value_or(""), std::string("<|begin_of_text|>"));
    QCOMPARE(t->eos_token().value_or(""), std::string("<|eot_id|>"));
    QCOMPARE(t->source(), src);
    // chat_template.jinja wins over the config's string.
    { std::ofstream(dir / "chat_template.jinja") << "{{ bos_token }}X"; }
    t = droplora::data::load_chat_template(dir.string());
    QCOMPARE(t->render(json::array(), false), std::string("<|begin_of_text|>X"));
    fs::remove(dir / "chat_template.jinja");
    { std::ofstream(dir / "tokenizer_config.json") << R"({"eos_token": "</s>"})"; }
    QVERIFY(!droplora::data::load_chat_template(dir.string()).has_value());
    { std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})"; }
    QCOMPARE(droplora::data::load_chat_template(dir.string())->render(json::array(), false), std::string("D"));
    { std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "{% for %}"})"; }
    const std::string err = error_of([&] { droplora::data::load_chat_template(dir.string()); });
    QVERIFY2(err.find("tokenizer_config.json chat_template:1:") != std::string::npos, err.c_str());
    fs::remove_all(dir);
}

QTEST_GUILESS_MAIN(TestJinja)
#include "test_jinja.moc"
