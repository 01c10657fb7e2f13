// The droplora command line as a user runs it: JSON on stdout, one-line
// errors on stderr with a non-zero exit, and a tiny train → export → eval trip.
#include <QtTest/QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "test_helpers.h"

using droplora::testing::data_path;

namespace {

struct Result {
    int code = -1;
    QString out, err;
};

Result droplora_cli(const QStringList& args, int timeout_ms = 300000) {
    QProcess p;
    p.start(QString(DROPLORA_BIN_DIR) + "/droplora", args);
    Result r;
    if (!p.waitForFinished(timeout_ms)) {
        p.kill();
        r.err = "timed out";
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString model(const char* name) { return QString::fromStdString(data_path(std::string("models/") + name)); }

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void eval_prints_golden_json() {
        auto r = droplora_cli({"eval", "--model", model("tiny-llama-tied"), "--text-file",
                               QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(r.out.trimmed().toStdString());
        auto golden = nlohmann::json::parse(droplora::testing::read_file(data_path("models/tiny-llama-tied/golden/eval.json")));
        QCOMPARE(j["tokens"].get<int64_t>(), golden["tokens"].get<int64_t>());
        QVERIFY(droplora::testing::rel_diff(j["loss"].get<double>(), golden["loss"].get<double>()) <= 1e-4);
    }

    void eval_with_adapter_prints_golden_json() {
        auto r = droplora_cli({"eval", "--model", model("tiny-llama-gqa"), "--adapter",
                               QString::fromStdString(data_path("adapters/gqa-rslora")), "--text-file",
                               QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(r.out.trimmed().toStdString());
        auto golden = nlohmann::json::parse(
            droplora::testing::read_file(data_path("models/tiny-llama-gqa/golden/eval_gqa-rslora.json")));
        QVERIFY(droplora::testing::rel_diff(j["loss"].get<double>(), golden["loss"].get<double>()) <= 1e-4);
    }

    void inspect_reports_the_model() {
        auto r = droplora_cli({"inspect", model("tiny-llama3"), "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(r.out.trimmed().toStdString());
        QCOMPARE(j["kv_heads"].get<int>(), 1);
        QCOMPARE(j["layers"].get<int>(), 2);
        QCOMPARE(j["context_length"].get<int>(), 256);
        QVERIFY(j["rope"].get<std::string>().find("llama3") != std::string::npos);
        QVERIFY(j["dtypes"].contains("F16"));
    }

    void data_preview_json_follows_the_chat_template() {
        // The test tokenizer with the real Llama 2 chat template; the text must be
        // python3-jinja2's (tests/data/chat_templates/golden.json).
        QTemporaryDir dir;
        QVERIFY(QFile::copy(QString::fromStdString(data_path("tokenizer/tokenizer.model")), dir.path() + "/tokenizer.model"));
        const std::string templ = droplora::testing::read_file(data_path("chat_templates/llama2.jinja"));
        std::ofstream(dir.filePath("tokenizer_config.json").toStdString())
            << nlohmann::json{{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"chat_template", templ}}.dump();
        std::ofstream(dir.filePath("chat.jsonl").toStdString())
            << R"({"messages": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "2 + 2 = 4."}]})"
            << "\n";
        auto r = droplora_cli({"data", "preview", "--model", dir.path(), "--data", dir.filePath("chat.jsonl"), "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.trimmed().toStdString());
        std::string want;
        const auto golden = nlohmann::json::parse(droplora::testing::read_file(data_path("chat_templates/golden.json")));
        for (const auto& row : golden["rows"])
            if (row["template"] == "llama2" && row["conversation"] == "user_assistant" && !row["add_generation_prompt"].get<bool>())
                want = row["output"].get<std::string>();
        QCOMPARE(QString::fromStdString(j["text"].get<std::string>()), QString::fromStdString(want));
        const auto ids = j["ids"].get<std::vector<int64_t>>();
        const auto mask = j["loss_mask"].get<std::vector<int>>();
        QCOMPARE(ids.size(), mask.size());
        QCOMPARE(ids.front(), int64_t{1});  // the template's <s>, not counted
        QCOMPARE(mask.front(), 0);
        QCOMPARE(ids.back(), int64_t{2});  // its </s>, counted: the model learns to stop
        QCOMPARE(mask.back(), 1);
        int counted = 0;
        for (int m : mask) counted += m;
        QVERIFY(counted > 1 && counted < static_cast<int>(mask.size()) - 1);  // prompt ids stay out

        auto bad = droplora_cli({"data", "preview", "--model", QString::fromStdString(data_path("tokenizer")), "--data",
                                 dir.filePath("chat.jsonl"), "--template", "model"});
        QVERIFY(bad.code != 0);
        QVERIFY2(bad.err.contains("no chat template"), qPrintable(bad.err));
    }

    void failures_are_one_line_and_non_zero() {
        QTemporaryDir tmp;
        const QString missing = tmp.path() + "/no-such-model";
        auto r = droplora_cli({"eval", "--model", missing, "--text-file", QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("no-such-model"), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count('\n'), 0);

        QDir().mkpath(tmp.path() + "/broken");
        std::ofstream(tmp.path().toStdString() + "/broken/config.json") << "{ not json";
        r = droplora_cli({"inspect", tmp.path() + "/broken"});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("config.json") && r.err.contains("JSON"), qPrintable(r.err));

        r = droplora_cli({"eval", "--model", model("tiny-llama-gqa"), "--adapter",
                          QString::fromStdString(data_path("adapters/bad-shape")), "--text-file",
                          QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("adapter_model.safetensors"), qPrintable(r.err));

        r = droplora_cli({"eval", "--modle", "x"});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("--modle"), qPrintable(r.err));

        const std::string yaml = tmp.path().toStdString() + "/run.yaml";
        std::ofstream(yaml) << "model: m\ndata:\n  train: t.jsonl\nadapter:\n  rnak: 8\n";
        r = droplora_cli({"train", "--config", QString::fromStdString(yaml)});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("run.yaml") && r.err.contains("adapter.rank"), qPrintable(r.err));
    }

    void train_export_eval_round_trip() {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        {
            std::ofstream data(dir + "/task.jsonl");
            for (int i = 0; i < 24; ++i)
                data << nlohmann::json{{"instruction", "Repeat the number."}, {"input", std::to_string(i * 7)},
                                       {"output", std::to_string(i * 7)}}
                            .dump()
                     << "\n";
        }
        std::ofstream(dir + "/run.yaml") << "model: " << data_path("models/tiny-llama-gqa") << "\n"
                                         << "data:\n  train: task.jsonl\n  max_seq_len: 160\n"
                                         << "adapter:\n  rank: 4\n  alpha: 8\n"
                                         << "train:\n  max_steps: 6\n  batch_size: 2\n  lr: 0.01\n  warmup_steps: 1\n"
                                         << "  eval_every: 3\n  save_every: 3\n  stats_every: 2\n"
                                         << "device: cpu\noutput: run\n";
        auto r = droplora_cli({"train", "--config", QString::fromStdString(dir + "/run.yaml"), "--set", "train.seed=3"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        QVERIFY(QFile::exists(QString::fromStdString(dir + "/run/adapter/adapter_model.safetensors")));
        QVERIFY(QFile::exists(QString::fromStdString(dir + "/run/metrics.jsonl")));

        r = droplora_cli({"export", "--run", QString::fromStdString(dir + "/run"), "--format", "peft", "--out",
                          QString::fromStdString(dir + "/peft")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("verified"), qPrintable(r.out));

        r = droplora_cli({"eval", "--model", model("tiny-llama-gqa"), "--adapter", QString::fromStdString(dir + "/peft"),
                          "--text-file", QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("\"loss\""));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
