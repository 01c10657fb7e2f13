// The droplora command line as a user runs it: JSON on stdout, one-line
// errors on stderr with a non-zero exit, and a tiny train → export → eval trip.
#include <QtTest/QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/cpu_features.h"
#include "test_helpers.h"

using droplora::testing::data_path;
using droplora::testing::droplora_cli;
using Result = droplora::testing::ProcessResult;

namespace {

QString model(const char* name) { return QString::fromStdString(data_path(std::string("models/") + name)); }

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void eval_prints_golden_json() {
        auto r = droplora_cli({"eval", "--model", model("tiny-llama-tied"), "--precision", "fp32", "--text-file",
                               QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(r.out.trimmed().toStdString());
        auto golden = nlohmann::json::parse(droplora::testing::read_file(data_path("models/tiny-llama-tied/golden/eval.json")));
        QCOMPARE(j["tokens"].get<int64_t>(), golden["tokens"].get<int64_t>());
        QVERIFY(droplora::testing::rel_diff(j["loss"].get<double>(), golden["loss"].get<double>()) <= 1e-4);
    }

    // eval and generate take training's precision rule: auto is bf16 weights on a CPU whose flags say it
    // multiplies bf16 natively (common/cpu_features.h), fp32 elsewhere. bf16 stays near the fp32 golden
    // (2 % relative on the loss: 8 mantissa bits through 4 layers), and auto's figure is exactly the one of
    // the precision the rule picks here.
    void eval_precision_follows_training_rule() {
        const auto eval_loss = [&](const char* precision) {
            auto r = droplora_cli({"eval", "--model", model("tiny-llama-tied"), "--precision", precision, "--text-file",
                                   QString::fromStdString(data_path("texts/sample.txt"))});
            if (r.code != 0) qWarning("%s", qPrintable(r.err));
            return r.code == 0 ? nlohmann::json::parse(r.out.trimmed().toStdString())["loss"].get<double>() : -1.0;
        };
        const double fp32 = eval_loss("fp32"), bf16 = eval_loss("bf16"), automatic = eval_loss("auto");
        auto golden = nlohmann::json::parse(droplora::testing::read_file(data_path("models/tiny-llama-tied/golden/eval.json")));
        QVERIFY(fp32 > 0 && bf16 > 0 && automatic > 0);
        QVERIFY2(droplora::testing::rel_diff(bf16, golden["loss"].get<double>()) <= 2e-2,
                 qPrintable(QString("bf16 %1 vs golden %2").arg(bf16).arg(golden["loss"].get<double>())));
        QVERIFY(bf16 != fp32);  // the weights really were bf16
        QCOMPARE(automatic, droplora::cpu_features().fast_bf16() ? bf16 : fp32);

        const auto answer = [&](const char* precision) {
            auto r = droplora_cli({"generate", "--model", model("tiny-llama-tied"), "--precision", precision,
                                   "--prompt", "The", "--max-new-tokens", "8"});
            return r.code == 0 ? r.out : QStringLiteral("error: ") + r.err;
        };
        QCOMPARE(answer("auto"), answer(droplora::cpu_features().fast_bf16() ? "bf16" : "fp32"));
        auto r = droplora_cli({"eval", "--model", model("tiny-llama-tied"), "--precision", "fp16", "--text-file",
                               QString::fromStdString(data_path("texts/sample.txt"))});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("--precision") && r.err.contains("fp16"), qPrintable(r.err));
    }

    void eval_with_adapter_prints_golden_json() {
        auto r = droplora_cli({"eval", "--model", model("tiny-llama-gqa"), "--precision", "fp32", "--adapter",
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
        QCOMPARE(j["tokenizer_files"].get<std::string>(), std::string("tokenizer.model"));
        // A folder with tokenizer.json and a chat template in tokenizer_config.json (Llama 3, Qwen).
        QTemporaryDir tmp;
        const std::string src = data_path("models/tiny-llama-gqa");
        for (const char* f : {"config.json", "model.safetensors"})
            QVERIFY(QFile::copy(QString::fromStdString(src + "/" + f), tmp.filePath(f)));
        std::ofstream(tmp.filePath("tokenizer.json").toStdString()) << "{}";
        std::ofstream(tmp.filePath("tokenizer_config.json").toStdString())
            << R"({"bos_token": {"content": "<|begin_of_text|>"}, "eos_token": "<|eot_id|>", "chat_template": "{{ x }}"})";
        r = droplora_cli({"inspect", tmp.path(), "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        j = nlohmann::json::parse(r.out.trimmed().toStdString());
        QCOMPARE(j["tokenizer_files"].get<std::string>(), std::string("tokenizer.json"));
        QCOMPARE(j["bos_token"].get<std::string>(), std::string("<|begin_of_text|>"));
        QCOMPARE(j["eos_token"].get<std::string>(), std::string("<|eot_id|>"));
        QCOMPARE(j["chat_template"].get<std::string>(), std::string("tokenizer_config.json"));
        r = droplora_cli({"inspect", tmp.path()});
        QVERIFY2(r.out.contains("chat template:  tokenizer_config.json") && r.out.contains("tokenizer:      tokenizer.json"),
                 qPrintable(r.out));
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

    void bench_reports_tokens_and_gflops() {
        auto r = droplora_cli({"bench", "--preset", "tiny", "--seq", "16", "--batch", "1", "--steps", "1", "--warmup",
                               "0", "--rounds", "1", "--only", "lora", "--device", "cpu", "--precision", "fp32", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QStringList lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 3);  // the header line, then lora with statistics off and on
        for (int i = 1; i < 3; ++i) {
            const auto row = nlohmann::json::parse(lines[i].toStdString());
            QCOMPARE(row["method"].get<std::string>(), std::string("lora"));
            const double tps = row["tokens_per_sec"].get<double>();
            QVERIFY(tps > 0);
            // The tiny preset by hand (app/command_bench.cpp flops_per_token): per layer
            // q,o 256·256 each, k,v 256·128 each, gate/up/down 256·688 each: 724,992 weights;
            // 4 layers and the 4096 × 256 head: 3,948,544; ×4 = 15,794,176; attention
            // 6 · 4 layers · 8 heads · 16 positions · 32 = 98,304. Total 15,892,480 per token.
            const double flops = row["gflops_per_sec"].get<double>() * 1e9 / tps;
            QVERIFY2(std::abs(flops - 15892480.0) < 1e-6 * 15892480.0, qPrintable(QString::number(flops, 'f', 1)));
        }
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
