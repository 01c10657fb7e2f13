// RunConfig YAML: defaults, a full file, path resolution, every error class (with file, line and key in the
// message), --set overrides, and the to_yaml → parse round trip over every field.
#include <QtTest/QtTest>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/text.h"
#include "config/run_config.h"
#include "test_support.h"

using droplora::config::RunConfig;
namespace cfg = droplora::config;
namespace fs = std::filesystem;

using droplora::testing::error_of;

namespace {

// The independent description of the schema: every field of RunConfig by hand, with its YAML key. Doubles are
// written with %.17g, which identifies a double exactly, so comparing these strings compares the values.
std::vector<std::pair<std::string, std::string>> flatten(const RunConfig& c) {
    const auto real = [](double d) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        return std::string(buf);
    };
    const auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
    std::string targets;
    for (const auto& t : c.adapter.targets) targets += "<" + t + ">";
    return {
        {"model", c.model},
        {"data.train", c.data.train},
        {"data.val", c.data.val},
        {"data.val_fraction", real(c.data.val_fraction)},
        {"data.format", c.data.format},
        {"data.template", c.data.templ},
        {"data.max_seq_len", std::to_string(c.data.max_seq_len)},
        {"data.train_on_prompt", flag(c.data.train_on_prompt)},
        {"data.skip_bad_rows", flag(c.data.skip_bad_rows)},
        {"adapter.method", c.adapter.method},
        {"adapter.rank", std::to_string(c.adapter.rank)},
        {"adapter.alpha", real(c.adapter.alpha)},
        {"adapter.drop_rate", real(c.adapter.drop_rate)},
        {"adapter.mask", c.adapter.mask},
        {"adapter.targets", targets},
        {"adapter.rslora", flag(c.adapter.rslora)},
        {"adapter.dropout", real(c.adapter.dropout)},
        {"adapter.init_adapter", c.adapter.init_adapter},
        {"train.max_steps", std::to_string(c.train.max_steps)},
        {"train.epochs", real(c.train.epochs)},
        {"train.batch_size", std::to_string(c.train.batch_size)},
        {"train.grad_accum", std::to_string(c.train.grad_accum)},
        {"train.lr", real(c.train.lr)},
        {"train.schedule", c.train.schedule},
        {"train.warmup_steps", std::to_string(c.train.warmup_steps)},
        {"train.weight_decay", real(c.train.weight_decay)},
        {"train.max_grad_norm", real(c.train.max_grad_norm)},
        {"train.seed", std::to_string(c.train.seed)},
        {"train.eval_every", std::to_string(c.train.eval_every)},
        {"train.save_every", std::to_string(c.train.save_every)},
        {"train.stats_every", std::to_string(c.train.stats_every)},
        {"train.log_every", std::to_string(c.train.log_every)},
        {"train.gradient_checkpointing", flag(c.train.gradient_checkpointing)},
        {"train.stop_on_divergence", flag(c.train.stop_on_divergence)},
        {"distributed.backend", c.distributed.backend},
        {"distributed.timeout_s", std::to_string(c.distributed.timeout_s)},
        {"device", c.device},
        {"precision", c.precision},
        {"output", c.output},
    };
}

constexpr int kFieldCount = 39;  // 1 model + 8 data + 9 adapter + 16 train + 2 distributed + device, precision, output

// Every field different from its default, with values that stress the writer: characters YAML treats
// specially, a string that reads as null when plain, doubles without a short decimal form.
RunConfig every_field_changed() {
    RunConfig c;
    c.model = "/models/My Model: v2 #1 \"quoted\" \\ back\tslash ünïcode";
    c.data.train = "/data/train, with [brackets] {braces}.jsonl";
    c.data.val = "null";
    c.data.val_fraction = 0.1 + 0.2;  // 0.30000000000000004
    c.data.format = "chat";
    c.data.templ = "chatml";
    c.data.max_seq_len = 2048;
    c.data.train_on_prompt = true;
    c.data.skip_bad_rows = true;
    c.adapter.method = "full";
    c.adapter.rank = 4096;
    c.adapter.alpha = 1.0 / 3.0;
    c.adapter.drop_rate = 0.9999999999999999;
    c.adapter.mask = "learned";
    c.adapter.targets = {"down_proj", "o_proj", "gate_proj"};
    c.adapter.rslora = true;
    c.adapter.dropout = 0.05;
    c.adapter.init_adapter = "~";
    c.train.max_steps = 0;
    c.train.epochs = 2.5;
    c.train.batch_size = 1;
    c.train.grad_accum = 16;
    c.train.lr = 1e-4 / 3;
    c.train.schedule = "cosine";
    c.train.warmup_steps = 0;
    c.train.weight_decay = 1e-300;
    c.train.max_grad_norm = 0;
    c.train.seed = -9223372036854775807LL - 1;
    c.train.eval_every = 0;
    c.train.save_every = 1;
    c.train.stats_every = 0;
    c.train.log_every = 1000000;
    c.train.gradient_checkpointing = true;
    c.train.stop_on_divergence = true;
    c.distributed.backend = "nccl";
    c.distributed.timeout_s = 5;
    c.device = "cuda:12";
    c.precision = "bf16";
    c.output = "-runs/out:";
    return c;
}

const char* kMinimal = "model: m\ndata:\n  train: t.jsonl\n";

}  // namespace

class TestConfig : public QObject {
    Q_OBJECT

private slots:
    // A finding of tests/fuzz/fuzz_yaml_run_file.cpp: yaml-cpp quotes the bad character raw.
    void malformed_yaml_message_is_one_line() {
        const std::string e = error_of([] { cfg::parse_run_config(std::string("m t \x07\0\n", 7), "run.yaml"); });
        QVERIFY2(e.rfind("run.yaml", 0) == 0, e.c_str());
        QVERIFY2(e.find('\n') == std::string::npos && e.find('\0') == std::string::npos, e.c_str());
    }

    // Findings of the same target: yaml-cpp 0.7's LoadAll never returns from these (a token that
    // cannot start a value at the top of a document); our walk over the documents stops there.
    // The last three were found by CI's and a longer local run: a ',' after a multi-line plain
    // scalar holding a '[' or a quote, which a scan of the text for flow brackets got wrong.
    void yaml_cpp_hangs_are_refused_before_parsing() {
        const std::vector<std::pair<const char*, const char*>> cases = {
            {",l: m  ", "run.yaml:1: malformed YAML: ',' outside [ ] or { } (column 1)"},
            {",", "run.yaml:1: malformed YAML: ',' outside [ ] or { } (column 1)"},
            {"# a comment\n ,a: b", "run.yaml:2: malformed YAML: ',' outside [ ] or { } (column 2)"},
            {"---\n,a", "run.yaml:2: malformed YAML: ',' outside [ ] or { } (column 1)"},
            {"- a\n - b\n,", "run.yaml:"},
            {"model: m\n---\n- x\n,", "run.yaml:3: a second YAML document"},
            {"-mm[nl\n---\n \n---\n, n: traindevic", "run.yaml:5: malformed YAML: ',' outside [ ] or { } (column 1)"},
            {"m\n\nm\n'\n#: d.\n,a i#t;A. &m\n", "run.yaml:6: malformed YAML: ',' outside [ ] or { } (column 1)"},
            {"-outpmm[nl\n---\n \n---\n n: train.rsonlnl\n---\n ,---\n  v= \n---4", "run.yaml:5: a second YAML document"},
            {"&a,b", "run.yaml:1: malformed YAML: ',' outside [ ] or { } (column 3)"},
        };
        for (const auto& [text, expected] : cases) {
            const std::string e = error_of([&] { cfg::parse_run_config(text, "run.yaml"); });
            QVERIFY2(e.rfind(expected, 0) == 0, (droplora::escape_control_chars(text) + " -> " + e).c_str());
        }
        // A ',' inside a mapping or a flow list is yaml-cpp's to judge, as before.
        const std::string e = error_of([] { cfg::parse_run_config("model: m\n, x: y\n", "run.yaml"); });
        QVERIFY2(e.find("malformed YAML") != std::string::npos, e.c_str());
    }

    // Also found by that target (on CI, not here: coverage feedback differs between machines): yaml-cpp
    // reads a NUL as a blank, so "\0," hangs it like ",". YAML text has no control characters but tab, LF
    // and CR, and is UTF-8 here; anything else is refused with its line and byte before yaml-cpp sees it.
    void control_characters_and_bad_utf8_are_refused() {
        struct Case {
            std::string text;
            const char* expected;
        };
        const std::vector<Case> cases = {
            {std::string("\0\0\0,mmo", 7), "run.yaml:1: control character 0x00 (byte 0)"},
            {std::string("\0,m", 3), "run.yaml:1: control character 0x00 (byte 0)"},
            {"model: m\ndata: {train: t.jsonl}\n\x01", "run.yaml:3: control character 0x01 (byte 32)"},
            {"model: m\x7f\n", "run.yaml:1: control character 0x7F (byte 8)"},
            {",l: m\x01\x8c  ", "run.yaml:1: not UTF-8 text (byte 6)"},
            {"model: m\n# caf\xe9\n", "run.yaml:2: not UTF-8 text (byte 14)"},
            {std::string("m\0o\0d\0", 6), "run.yaml:1: control character 0x00 (byte 1)"},  // UTF-16
        };
        for (const auto& c : cases) {
            const std::string e = error_of([&] { cfg::parse_run_config(c.text, "run.yaml"); });
            QVERIFY2(e.rfind(c.expected, 0) == 0, e.c_str());
            QVERIFY2(e.find('\n') == std::string::npos, e.c_str());
        }
        // Tab, CR LF, a BOM and UTF-8 beyond ASCII are text.
        const RunConfig c = cfg::parse_run_config("\xef\xbb\xbfmodel: m\r\ndata:\t{train: t.jsonl}\r\n# caf\xc3\xa9\r\n", "run.yaml");
        QCOMPARE(c.model, std::string("m"));
        QCOMPARE(c.data.train, std::string("t.jsonl"));
    }

    void defaults() {
        const RunConfig c;
        QCOMPARE(c.data.val_fraction, 0.1);
        QCOMPARE(c.data.format, std::string("auto"));
        QCOMPARE(c.data.templ, std::string("alpaca"));
        QCOMPARE(c.data.max_seq_len, int64_t{512});
        QCOMPARE(c.adapter.method, std::string("droplora"));
        QCOMPARE(c.adapter.rank, int64_t{16});
        QCOMPARE(c.adapter.alpha, 32.0);
        QCOMPARE(c.adapter.drop_rate, 0.5);
        QCOMPARE(c.adapter.mask, std::string("step"));
        QCOMPARE(c.adapter.targets, (std::vector<std::string>{"q_proj", "k_proj", "v_proj", "up_proj", "down_proj"}));
        QCOMPARE(c.train.max_steps, int64_t{1000});
        QCOMPARE(c.train.lr, 3e-4);
        QCOMPARE(c.train.log_every, int64_t{1});
        QCOMPARE(c.device, std::string("auto"));
        QCOMPARE(c.output, std::string("runs/run"));

        // Only the required keys are missing from the defaults.
        QVERIFY(error_of([&] { cfg::validate(c, "gui"); }).find("gui: model: missing") == 0);
        RunConfig filled = c;
        filled.model = "m";
        filled.data.train = "t.jsonl";
        cfg::validate(filled, "gui");

        // A minimal file gives exactly the defaults (base_dir "." leaves relative paths alone).
        const RunConfig parsed = cfg::parse_run_config(kMinimal, "run.yaml");
        QVERIFY(flatten(parsed) == flatten(filled));
    }

    void full_file() {
        const std::string text = R"(# every section
model: models/tiny
data:
  train: data/train.jsonl
  val: /abs/val.jsonl
  val_fraction: 0.25
  format: alpaca
  template: llama2
  max_seq_len: 1024
  train_on_prompt: yes
  skip_bad_rows: true
adapter:
  method: droplora
  rank: 8
  alpha: 16.5
  drop_rate: 0.25
  mask: token
  targets: [q_proj, v_proj]
  rslora: true
  dropout: 0.1
  init_adapter: prev/adapter
train:
  max_steps: 0
  epochs: 3
  batch_size: 2
  grad_accum: 8
  lr: 2e-5
  schedule: cosine
  warmup_steps: 10
  weight_decay: 0.01
  max_grad_norm: 0.5
  seed: 7
  eval_every: 50
  save_every: 0
  stats_every: 5
  log_every: 2
  gradient_checkpointing: on
device: cuda:1
precision: bf16
output: out/run1
)";
        const RunConfig c = cfg::parse_run_config(text, "full.yaml", "/base");
        QCOMPARE(c.model, std::string("/base/models/tiny"));
        QCOMPARE(c.data.train, std::string("/base/data/train.jsonl"));
        QCOMPARE(c.data.val, std::string("/abs/val.jsonl"));
        QCOMPARE(c.data.val_fraction, 0.25);
        QCOMPARE(c.data.format, std::string("alpaca"));
        QCOMPARE(c.data.templ, std::string("llama2"));
        QCOMPARE(c.data.max_seq_len, int64_t{1024});
        QVERIFY(c.data.train_on_prompt);
        QVERIFY(c.data.skip_bad_rows);
        QCOMPARE(c.adapter.method, std::string("droplora"));
        QCOMPARE(c.adapter.rank, int64_t{8});
        QCOMPARE(c.adapter.alpha, 16.5);
        QCOMPARE(c.adapter.drop_rate, 0.25);
        QCOMPARE(c.adapter.mask, std::string("token"));
        QCOMPARE(c.adapter.targets, (std::vector<std::string>{"q_proj", "v_proj"}));
        QVERIFY(c.adapter.rslora);
        QCOMPARE(c.adapter.dropout, 0.1);
        QCOMPARE(c.adapter.init_adapter, std::string("/base/prev/adapter"));
        QCOMPARE(c.train.max_steps, int64_t{0});
        QCOMPARE(c.train.epochs, 3.0);
        QCOMPARE(c.train.batch_size, int64_t{2});
        QCOMPARE(c.train.grad_accum, int64_t{8});
        QCOMPARE(c.train.lr, 2e-5);
        QCOMPARE(c.train.schedule, std::string("cosine"));
        QCOMPARE(c.train.warmup_steps, int64_t{10});
        QCOMPARE(c.train.weight_decay, 0.01);
        QCOMPARE(c.train.max_grad_norm, 0.5);
        QCOMPARE(c.train.seed, int64_t{7});
        QCOMPARE(c.train.eval_every, int64_t{50});
        QCOMPARE(c.train.save_every, int64_t{0});
        QCOMPARE(c.train.stats_every, int64_t{5});
        QCOMPARE(c.train.log_every, int64_t{2});
        QVERIFY(c.train.gradient_checkpointing);
        QCOMPARE(c.device, std::string("cuda:1"));
        QCOMPARE(c.precision, std::string("bf16"));
        QCOMPARE(c.output, std::string("/base/out/run1"));
    }

    void special_values() {
        const auto parse = [](const std::string& extra) {
            return cfg::parse_run_config(std::string(kMinimal) + extra, "run.yaml");
        };
        // all-linear expands to the seven projections, as a scalar or a one-item list.
        const std::vector<std::string> all = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                              "gate_proj", "up_proj", "down_proj"};
        QCOMPARE(parse("adapter:\n  targets: all-linear\n").adapter.targets, all);
        QCOMPARE(parse("adapter:\n  targets: [all-linear]\n").adapter.targets, all);
        // Plain LoRA without a drop_rate gets 0 (droplora's default 0.5 does not apply).
        QCOMPARE(parse("adapter:\n  method: lora\n").adapter.drop_rate, 0.0);
        QCOMPARE(parse("adapter:\n  method: lora\n  drop_rate: 0\n").adapter.drop_rate, 0.0);
        // An empty section keeps the defaults; an empty optional string is empty.
        QCOMPARE(parse("train:\n").train.lr, 3e-4);
        QCOMPARE(parse("adapter:\n  init_adapter:\n").adapter.init_adapter, std::string());
        // Epoch-based training, and quoted numbers.
        const RunConfig e = parse("train:\n  max_steps: 0\n  epochs: 0.5\n  lr: \"1e-3\"\n");
        QCOMPARE(e.train.epochs, 0.5);
        QCOMPARE(e.train.lr, 1e-3);
        QCOMPARE(parse("device: cuda\n").device, std::string("cuda"));
    }

    void relative_paths() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const fs::path dir = fs::path(tmp.path().toStdString()) / "runs" / "exp";
        fs::create_directories(dir);
        const fs::path file = dir / "run.yaml";
        {
            std::ofstream out(file);
            out << "model: ../../models/tiny\ndata:\n  train: data/train.jsonl\n  val: /abs/val.jsonl\n"
                   "adapter:\n  init_adapter: ./prev\n";
        }
        const RunConfig c = cfg::load_run_config(file.string());
        const fs::path root = fs::path(tmp.path().toStdString());
        QCOMPARE(c.model, (root / "models" / "tiny").string());
        QCOMPARE(c.data.train, (dir / "data" / "train.jsonl").string());
        QCOMPARE(c.data.val, std::string("/abs/val.jsonl"));  // absolute: untouched
        QCOMPARE(c.adapter.init_adapter, (dir / "prev").string());
        QCOMPARE(c.output, (dir / "runs" / "run").string());  // the default is relative too

        // parse_run_config resolves against base_dir; "." (the default) leaves paths as written.
        const RunConfig p = cfg::parse_run_config(kMinimal, "run.yaml", "/srv/cfg");
        QCOMPARE(p.model, std::string("/srv/cfg/m"));
        QCOMPARE(p.data.train, std::string("/srv/cfg/t.jsonl"));
        QCOMPARE(p.data.val, std::string());  // empty stays empty
        QCOMPARE(cfg::parse_run_config(kMinimal, "run.yaml").model, std::string("m"));
    }

    void errors_data() {
        QTest::addColumn<QString>("yaml");
        QTest::addColumn<QStringList>("needles");
        const QString base = kMinimal;
        QTest::newRow("unknown key") << base + "adapter:\n  rank: 8\n  rnak: 8\n"
                                     << QStringList{"run.yaml:6: ", "unknown key 'adapter.rnak'",
                                                    "(did you mean 'adapter.rank'?)"};
        QTest::newRow("key in wrong section") << base + "adapter:\n  lr: 1e-4\n"
                                              << QStringList{"run.yaml:5: ", "'adapter.lr'", "did you mean 'train.lr'"};
        QTest::newRow("misspelt section") << base + "trian:\n  lr: 1\n"
                                          << QStringList{"run.yaml:4: ", "'trian'", "did you mean 'train'"};
        QTest::newRow("unknown section") << base + "optimizer:\n  kind: adamw\n"
                                         << QStringList{"run.yaml:4: ", "unknown key 'optimizer'", "top-level keys:"};
        QTest::newRow("unknown, no near key") << base + "adapter:\n  foo: 1\n"
                                              << QStringList{"run.yaml:5: ", "'adapter.foo'", "adapter keys: method"};
        QTest::newRow("dotted key in file") << base + "train.lr: 1\n" << QStringList{"run.yaml:4: ", "'train.lr'"};
        QTest::newRow("duplicate key") << base + "  train: again.jsonl\n"
                                       << QStringList{"run.yaml:4: ", "duplicate key 'data.train'", "line 3"};
        QTest::newRow("int as word") << base + "adapter:\n  rank: sixteen\n"
                                     << QStringList{"run.yaml:5: ", "adapter.rank", "integer", "'sixteen'"};
        QTest::newRow("int as real") << base + "  max_seq_len: 1.5\n"
                                     << QStringList{"run.yaml:4: ", "data.max_seq_len", "integer"};
        QTest::newRow("int overflow") << base + "train:\n  seed: 9223372036854775808\n"
                                      << QStringList{"run.yaml:5: ", "train.seed", "integer"};
        QTest::newRow("real as list") << base + "train:\n  lr: [1]\n"
                                      << QStringList{"run.yaml:5: ", "train.lr", "number", "a list"};
        QTest::newRow("real not finite") << base + "train:\n  lr: nan\n" << QStringList{"train.lr", "finite number"};
        QTest::newRow("bool") << base + "adapter:\n  rslora: maybe\n"
                              << QStringList{"run.yaml:5: ", "adapter.rslora", "true or false"};
        QTest::newRow("string as map") << base + "device: {id: 0}\n" << QStringList{"run.yaml:4: ", "device", "string"};
        QTest::newRow("targets not list") << base + "adapter:\n  targets: q_proj\n"
                                          << QStringList{"run.yaml:5: ", "adapter.targets", "list"};
        QTest::newRow("targets nested") << base + "adapter:\n  targets: [[q_proj]]\n"
                                        << QStringList{"adapter.targets", "list"};
        QTest::newRow("section not map") << base + "train: 5\n"
                                         << QStringList{"run.yaml:4: ", "train:", "mapping", "'5'"};
        QTest::newRow("rank range") << base + "adapter:\n  rank: 0\n"
                                    << QStringList{"run.yaml:5: ", "adapter.rank", "[1, 4096]"};
        QTest::newRow("drop_rate range") << base + "adapter:\n  drop_rate: 1\n"
                                         << QStringList{"run.yaml:5: ", "adapter.drop_rate", "[0, 1)"};
        QTest::newRow("dropout range") << base + "adapter:\n  dropout: -0.1\n"
                                       << QStringList{"adapter.dropout", "[0, 1)"};
        QTest::newRow("alpha") << base + "adapter:\n  alpha: 0\n" << QStringList{"adapter.alpha", "> 0"};
        QTest::newRow("val_fraction") << base + "  val_fraction: 0.95\n"
                                      << QStringList{"run.yaml:4: ", "data.val_fraction", "[0, 0.9]"};
        QTest::newRow("max_seq_len") << base + "  max_seq_len: 4\n" << QStringList{"data.max_seq_len", "[8, 1048576]"};
        QTest::newRow("batch_size") << base + "train:\n  batch_size: 0\n" << QStringList{"train.batch_size", ">= 1"};
        QTest::newRow("grad_accum") << base + "train:\n  grad_accum: 0\n" << QStringList{"train.grad_accum", ">= 1"};
        QTest::newRow("lr") << base + "train:\n  lr: 0\n" << QStringList{"train.lr", "> 0"};
        QTest::newRow("warmup") << base + "train:\n  warmup_steps: -1\n" << QStringList{"train.warmup_steps", ">= 0"};
        QTest::newRow("weight_decay") << base + "train:\n  weight_decay: -1\n"
                                      << QStringList{"train.weight_decay", ">= 0"};
        QTest::newRow("max_grad_norm") << base + "train:\n  max_grad_norm: -1\n" << QStringList{"train.max_grad_norm"};
        QTest::newRow("max_steps") << base + "train:\n  max_steps: -1\n" << QStringList{"train.max_steps", ">= 0"};
        QTest::newRow("no steps, no epochs") << base + "train:\n  max_steps: 0\n"
                                             << QStringList{"run.yaml: train.epochs", "max_steps is 0"};
        QTest::newRow("eval_every") << base + "train:\n  eval_every: -5\n" << QStringList{"train.eval_every", ">= 0"};
        QTest::newRow("save_every") << base + "train:\n  save_every: -5\n" << QStringList{"train.save_every", ">= 0"};
        QTest::newRow("stats_every") << base + "train:\n  stats_every: -5\n" << QStringList{"train.stats_every"};
        QTest::newRow("log_every") << base + "train:\n  log_every: 0\n" << QStringList{"train.log_every", ">= 1"};
        QTest::newRow("method") << base + "adapter:\n  method: dora\n"
                                << QStringList{"run.yaml:5: ", "adapter.method", "'dora'", "lora | droplora | full"};
        QTest::newRow("lora with drop_rate") << base + "adapter:\n  method: lora\n  drop_rate: 0.3\n"
                                             << QStringList{"run.yaml:6: ", "adapter.drop_rate", "droplora"};
        QTest::newRow("mask") << base + "adapter:\n  mask: random\n"
                              << QStringList{"adapter.mask", "step | token | learned"};
        QTest::newRow("target name") << base + "adapter:\n  targets: [q_proj, qkv_proj]\n"
                                     << QStringList{"adapter.targets", "'qkv_proj'", "down_proj"};
        QTest::newRow("target twice") << base + "adapter:\n  targets: [v_proj, v_proj]\n"
                                      << QStringList{"adapter.targets", "'v_proj' is listed twice"};
        QTest::newRow("targets empty") << base + "adapter:\n  targets: []\n" << QStringList{"adapter.targets", "empty"};
        QTest::newRow("all-linear mixed") << base + "adapter:\n  targets: [all-linear, q_proj]\n"
                                          << QStringList{"adapter.targets", "all-linear"};
        QTest::newRow("format") << base + "  format: csv\n" << QStringList{"data.format", "alpaca | chat"};
        QTest::newRow("template") << base + "  template: vicuna\n" << QStringList{"data.template", "chatml"};
        QTest::newRow("schedule") << base + "train:\n  schedule: step\n"
                                  << QStringList{"train.schedule", "linear | cosine | constant"};
        QTest::newRow("device") << base + "device: gpu\n" << QStringList{"run.yaml:4: ", "device", "cuda:N"};
        QTest::newRow("device index") << base + "device: cuda:x\n" << QStringList{"device", "'cuda:x'"};
        QTest::newRow("precision") << base + "precision: fp16\n" << QStringList{"precision", "auto | fp32 | bf16"};
        QTest::newRow("output empty") << base + "output: \"\"\n" << QStringList{"run.yaml:4: ", "output", "missing"};
        QTest::newRow("train missing") << QString("model: m\n") << QStringList{"run.yaml: data.train", "missing"};
        QTest::newRow("model missing") << QString("data:\n  train: t\n") << QStringList{"run.yaml: ", "'model'"};
        QTest::newRow("malformed flow") << base + "adapter:\n  targets: [q_proj, v_proj\ntrain:\n  lr: 1\n"
                                        << QStringList{"run.yaml:6: ", "malformed YAML"};
        QTest::newRow("malformed indent")
            << QString("model: m\n  data: x\n") << QStringList{"run.yaml:2: ", "malformed YAML"};
        QTest::newRow("empty file") << QString() << QStringList{"run.yaml: ", "empty run file", "model"};
        QTest::newRow("only comments") << QString("# nothing\n\n") << QStringList{"run.yaml: ", "empty run file"};
        QTest::newRow("not a mapping") << QString("- model\n- data\n") << QStringList{"run.yaml:1: ", "mapping"};
        QTest::newRow("control chars escaped") << base + "\"bad\\nkey\": 1\n" << QStringList{"'bad\\x0akey'"};
    }

    void errors() {
        QFETCH(QString, yaml);
        QFETCH(QStringList, needles);
        const std::string msg = error_of([&] { cfg::parse_run_config(yaml.toStdString(), "run.yaml"); });
        QVERIFY2(msg.find('\n') == std::string::npos, msg.c_str());  // one line
        for (const QString& n : needles) QVERIFY2(msg.find(n.toStdString()) != std::string::npos, msg.c_str());
    }

    void file_errors() {
        QTemporaryDir tmp;
        const std::string missing = tmp.path().toStdString() + "/nope.yaml";
        QVERIFY(error_of([&] { cfg::load_run_config(missing); }).find(missing + ": cannot open") == 0);
        QVERIFY(error_of([&] { cfg::load_run_config(tmp.path().toStdString()); }).find("is a folder") !=
                std::string::npos);
        const std::string bad = tmp.path().toStdString() + "/bad.yaml";
        std::ofstream(bad) << "model: m\ndata:\n  train: t\nadapter:\n  rnak: 3\n";
        QCOMPARE(error_of([&] { cfg::load_run_config(bad); }),
                 bad + ":5: unknown key 'adapter.rnak' (did you mean 'adapter.rank'?)");
        // Saving into a path whose folder is a file fails with the file's name.
        const std::string blocked = bad + "/config.yaml";
        QVERIFY(error_of([&] { cfg::save_run_config(RunConfig{}, blocked); }).find(blocked + ": ") == 0);
    }

    void overrides() {
        RunConfig c = cfg::parse_run_config(kMinimal, "run.yaml");
        cfg::apply_override(c, "train.lr=1e-4");
        QCOMPARE(c.train.lr, 1e-4);
        cfg::apply_override(c, " adapter.rank = 32");
        QCOMPARE(c.adapter.rank, int64_t{32});
        cfg::apply_override(c, "adapter.targets=[q_proj, v_proj]");
        QCOMPARE(c.adapter.targets, (std::vector<std::string>{"q_proj", "v_proj"}));
        cfg::apply_override(c, "adapter.targets=all-linear");
        QCOMPARE(c.adapter.targets.size(), std::size_t{7});
        cfg::apply_override(c, "data.template=chatml");
        QCOMPARE(c.data.templ, std::string("chatml"));
        cfg::apply_override(c, "data.val=v=1.jsonl");  // only the first '=' splits
        QCOMPARE(c.data.val, std::string("v=1.jsonl"));
        cfg::apply_override(c, "data.val=");
        QCOMPARE(c.data.val, std::string());
        cfg::apply_override(c, "train.gradient_checkpointing=true");
        QVERIFY(c.train.gradient_checkpointing);
        cfg::apply_override(c, "device=cuda:0");
        QCOMPARE(c.device, std::string("cuda:0"));
        cfg::apply_override(c, "model=/models/other");
        QCOMPARE(c.model, std::string("/models/other"));
        cfg::validate(c, "--set");

        const auto err = [&](const char* assignment) { return error_of([&] { cfg::apply_override(c, assignment); }); };
        QCOMPARE(err("adapter.rnak=8"),
                 std::string("--set: unknown key 'adapter.rnak' (did you mean 'adapter.rank'?)"));
        QCOMPARE(err("lr=1"), std::string("--set: unknown key 'lr' (did you mean 'train.lr'?)"));
        QVERIFY(err("adapter=1").find("--set: 'adapter' is a section") == 0);
        QVERIFY(err("train.lr").find("--set: expected key=value") == 0);
        QVERIFY(err("=1").find("--set: expected key=value") == 0);
        QCOMPARE(err("train.lr=fast"), std::string("--set: train.lr: expected a finite number, got 'fast'"));
        QVERIFY(err("adapter.targets=q_proj").find("--set: adapter.targets: expected a list") == 0);
        QVERIFY(err("adapter.targets=[q_proj").find("--set: adapter.targets: cannot parse value") == 0);
        QVERIFY(err("train.max_steps=").find("--set: train.max_steps: expected an integer, got nothing") == 0);
        // A failed override leaves the setting as it was; ranges are checked by validate().
        QCOMPARE(c.train.lr, 1e-4);
        cfg::apply_override(c, "adapter.rank=0");
        QCOMPARE(error_of([&] { cfg::validate(c, "--set"); }),
                 std::string("--set: adapter.rank: 0 is out of range [1, 4096]"));
    }

    void round_trip() {
        const RunConfig changed = every_field_changed();
        const RunConfig defaults;
        const auto a = flatten(changed), d = flatten(defaults);
        QCOMPARE(int(a.size()), kFieldCount);
        for (std::size_t i = 0; i < a.size(); ++i) QVERIFY2(a[i].second != d[i].second, a[i].first.c_str());
        cfg::validate(changed, "test");

        const std::string text = cfg::to_yaml(changed);
        QVERIFY(text.rfind("# ", 0) == 0);  // comment header
        const RunConfig back = cfg::parse_run_config(text, "roundtrip.yaml");
        const auto b = flatten(back);
        for (std::size_t i = 0; i < a.size(); ++i)
            QVERIFY2(a[i] == b[i], (a[i].first + ": wrote " + a[i].second + ", read " + b[i].second).c_str());

        // Every key is written, in schema order.
        std::size_t pos = 0;
        for (const auto& key : cfg::known_keys()) {
            const std::string leaf = key.substr(key.find('.') + 1) + ":";
            const std::size_t at = text.find(leaf, pos);
            QVERIFY2(at != std::string::npos, key.c_str());
            pos = at;
        }
        // Human-friendly numbers where exact.
        RunConfig plain;
        plain.model = "m";
        plain.data.train = "t";
        const std::string ptext = cfg::to_yaml(plain);
        QVERIFY(ptext.find("  lr: 0.0003\n") != std::string::npos);
        QVERIFY(ptext.find("  alpha: 32\n") != std::string::npos);
        QVERIFY(ptext.find("  targets: [q_proj, k_proj, v_proj, up_proj, down_proj]\n") != std::string::npos);

        // save + load through a file: atomic write leaves no temporary; absolute paths survive unchanged.
        QTemporaryDir tmp;
        const std::string path = tmp.path().toStdString() + "/run/config.yaml";
        RunConfig absolute = changed;
        absolute.data.val = "/data/null";  // "null" alone is a relative path: it would be resolved
        absolute.output = "/runs/out";
        absolute.adapter.init_adapter = "/adapters/prev";
        cfg::save_run_config(absolute, path);
        cfg::save_run_config(absolute, path);  // replacing an existing file
        QVERIFY(!fs::exists(path + ".tmp"));
        QVERIFY(flatten(cfg::load_run_config(path)) == flatten(absolute));
    }

    // The shipped example reads cleanly and spells out the defaults; the reference documents every key.
    void example_and_docs() {
        const fs::path source = DROPLORA_SOURCE_DIR;
        const RunConfig ex = cfg::load_run_config((source / "resources/configs/example.yaml").string());
        QCOMPARE(ex.model, (source / "tests/data/models/tiny-llama-gqa").string());
        RunConfig expected;
        expected.model = ex.model;
        expected.data.train = ex.data.train;
        expected.output = ex.output;
        QVERIFY(flatten(ex) == flatten(expected));

        std::ifstream in(source / "docs/run-config.md");
        QVERIFY(in.good());
        const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        for (const auto& key : cfg::known_keys())
            QVERIFY2(doc.find("| `" + key + "` |") != std::string::npos, key.c_str());
    }

    void known_keys_cover_every_field() {
        const auto& keys = cfg::known_keys();
        QCOMPARE(int(keys.size()), kFieldCount);
        const auto flat = flatten(RunConfig{});
        for (std::size_t i = 0; i < keys.size(); ++i) QCOMPARE(keys[i], flat[i].first);  // same names, same order
        QCOMPARE(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
        // Each key is accepted by --set.
        RunConfig c = every_field_changed();
        for (const auto& [key, value] : flatten(every_field_changed())) {
            if (key == "adapter.targets") continue;  // flatten's list form is not YAML
            if (value.find_first_of("\"#:,[{\\\t~") != std::string::npos || value == "null") continue;
            cfg::apply_override(c, key + "=" + value);
        }
        QVERIFY(flatten(c) == flatten(every_field_changed()));
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "test_config.moc"
