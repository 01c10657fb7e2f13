// The LLaMA forward pass, loss, eval windows and PEFT adapters against the
// independent Python reference (tests/reference/hf_llama_reference.py).
// Tolerance: max |ours − ref| / max(|ref|, 1) ≤ 1e-4 on logits, relative 1e-4
// on losses, fp32 on CPU.
#include <QtTest/QtTest>

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/error.h"
#include "data/tokenizer.h"
#include "adapters/peft.h"
#include "io/safetensors_torch.h"
#include "model/loader.h"
#include "model/scoring.h"
#include "test_helpers.h"

using namespace droplora;
using droplora::testing::data_path;
using droplora::testing::max_rel_error;
using droplora::testing::rel_diff;
namespace fs = std::filesystem;

namespace {

constexpr double kTol = 1e-4;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(droplora::testing::read_file(path)); }

std::vector<int64_t> sample_ids(const std::string& model_dir, const std::string& text_file) {
    auto tok = data::Tokenizer::load(model_dir);
    auto ids = tok->encode(droplora::testing::read_file(data_path("texts/" + text_file)));
    ids.insert(ids.begin(), tok->bos_id());
    return ids;
}

// Copies a model folder so a test can break it.
std::string copy_model(const QTemporaryDir& tmp, const std::string& name) {
    const fs::path dst = fs::path(tmp.path().toStdString()) / name;
    fs::copy(data_path("models/" + name), dst, fs::copy_options::recursive);
    return dst.string();
}

template <typename F>
QString error_of(F&& f) {
    try {
        f();
    } catch (const droplora::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestModel : public QObject {
    Q_OBJECT

private slots:
    void forward_matches_reference_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : {"tiny-llama-gqa", "tiny-llama-tied", "tiny-llama3", "tiny-mistral"})
            QTest::newRow(m) << QString(m);
    }

    void forward_matches_reference() {
        QFETCH(QString, model);
        const std::string dir = data_path("models/" + model.toStdString());
        auto net = model::load_llama(dir);
        auto golden = io::load_all(dir + "/golden/forward.safetensors");
        torch::NoGradGuard no_grad;
        auto logits = net->forward(golden.at("input_ids"), golden.at("attention_mask"));
        QCOMPARE(logits.sizes(), golden.at("logits").sizes());
        const double err = max_rel_error(logits, golden.at("logits"));
        QVERIFY2(err <= kTol, qPrintable(QString("logits error %1").arg(err)));
        auto loss = model::causal_lm_loss(logits, golden.at("labels"));
        QVERIFY(rel_diff(loss.item<double>(), golden.at("loss").item<double>()) <= kTol);
    }

    void eval_matches_reference_data() { forward_matches_reference_data(); }

    void eval_matches_reference() {
        QFETCH(QString, model);
        const std::string dir = data_path("models/" + model.toStdString());
        auto net = model::load_llama(dir);
        const auto golden = read_json(dir + "/golden/eval.json");
        const auto score = model::score_ids(*net, sample_ids(dir, "sample.txt"));
        QCOMPARE(score.tokens, golden["tokens"].get<int64_t>());
        QVERIFY2(rel_diff(score.loss(), golden["loss"].get<double>()) <= kTol,
                 qPrintable(QString("loss %1 vs %2").arg(score.loss()).arg(golden["loss"].get<double>())));
    }

    void long_text_is_scored_in_windows() {
        const std::string dir = data_path("models/tiny-llama-gqa");
        auto net = model::load_llama(dir);
        const auto golden = read_json(dir + "/golden/eval_long.json");
        const auto ids = sample_ids(dir, "long.txt");
        QVERIFY(static_cast<int64_t>(ids.size()) > 3 * net->config().max_position_embeddings);
        const auto score = model::score_ids(*net, ids);
        QCOMPARE(score.tokens, golden["tokens"].get<int64_t>());
        QVERIFY(rel_diff(score.loss(), golden["loss"].get<double>()) <= kTol);
    }

    void peft_adapter_matches_reference_data() {
        QTest::addColumn<QString>("adapter");
        QTest::newRow("lora") << "gqa-lora";
        QTest::newRow("rslora") << "gqa-rslora";
    }

    void peft_adapter_matches_reference() {
        QFETCH(QString, adapter);
        const std::string dir = data_path("models/tiny-llama-gqa");
        auto net = model::load_llama(dir);
        const int n = adapters::load_peft_adapter(*net, data_path("adapters/" + adapter.toStdString()));
        QVERIFY(n > 0);
        const auto golden = read_json(dir + "/golden/eval_" + adapter.toStdString() + ".json");
        const auto score = model::score_ids(*net, sample_ids(dir, "sample.txt"));
        QVERIFY2(rel_diff(score.loss(), golden["loss"].get<double>()) <= kTol,
                 qPrintable(QString("loss %1 vs %2").arg(score.loss()).arg(golden["loss"].get<double>())));
        if (adapter == "gqa-lora") {
            auto fwd = io::load_all(dir + "/golden/forward_gqa-lora.safetensors");
            torch::NoGradGuard no_grad;
            auto logits = net->forward(fwd.at("input_ids"), fwd.at("attention_mask"));
            QVERIFY(max_rel_error(logits, fwd.at("logits")) <= kTol);
        }
    }

    void merged_adapter_equals_unmerged() {
        const std::string dir = data_path("models/tiny-llama-gqa");
        auto net = model::load_llama(dir);
        adapters::load_peft_adapter(*net, data_path("adapters/gqa-lora"));
        auto golden = io::load_all(dir + "/golden/forward.safetensors");
        torch::NoGradGuard no_grad;
        auto unmerged = net->forward(golden.at("input_ids"), golden.at("attention_mask"));
        for (auto& [name, lin] : net->named_linears()) lin->merge_adapter();
        for (auto& [name, lin] : net->named_linears()) QVERIFY(!lin->has_adapter());
        auto merged = net->forward(golden.at("input_ids"), golden.at("attention_mask"));
        QVERIFY(max_rel_error(merged, unmerged) <= 1e-5);
    }

    void bad_adapters_are_errors() {
        const std::string dir = data_path("models/tiny-llama-gqa");
        auto net = model::load_llama(dir);
        QString e = error_of([&] { adapters::load_peft_adapter(*net, data_path("adapters/bad-shape")); });
        QVERIFY2(e.contains("bad-shape") && e.contains("q_proj"), qPrintable(e));
        e = error_of([&] { adapters::load_peft_adapter(*net, data_path("adapters/bad-module")); });
        QVERIFY2(e.contains("bad-module") && e.contains("does not exist"), qPrintable(e));
        e = error_of([&] { adapters::load_peft_adapter(*net, data_path("models/tiny-llama-gqa")); });
        QVERIFY2(e.contains("adapter_config.json"), qPrintable(e));
    }

    void kv_cache_decoding_equals_full_forward() {
        auto net = model::load_llama(data_path("models/tiny-llama-gqa"));
        auto golden = io::load_all(data_path("models/tiny-llama-gqa/golden/forward.safetensors"));
        auto ids = golden.at("input_ids").narrow(0, 0, 1);  // [1, 24]
        torch::NoGradGuard no_grad;
        auto full = net->forward(ids);
        model::KVCache cache;
        auto first = net->forward(ids.narrow(1, 0, 10), {}, &cache);
        std::vector<torch::Tensor> parts{first};
        for (int64_t t = 10; t < ids.size(1); ++t) parts.push_back(net->forward(ids.narrow(1, t, 1), {}, &cache));
        QCOMPARE(cache.length(), ids.size(1));
        QVERIFY(max_rel_error(torch::cat(parts, 1), full) <= 1e-5);
    }

    void broken_model_folders_are_errors() {
        QTemporaryDir tmp;
        QVERIFY(error_of([&] { model::load_llama(tmp.path().toStdString() + "/nope"); }).contains("nope"));

        std::string dir = copy_model(tmp, "tiny-llama-gqa");
        fs::remove(dir + "/config.json");
        QVERIFY(error_of([&] { model::load_llama(dir); }).contains("config.json"));

        dir = copy_model(tmp, "tiny-llama-tied");
        { std::ofstream(dir + "/config.json") << "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": "; }
        QVERIFY(error_of([&] { model::load_llama(dir); }).contains("not valid JSON"));

        dir = copy_model(tmp, "tiny-mistral");
        auto cfg = read_json(dir + "/config.json");
        cfg["architectures"] = {"GPT2LMHeadModel"};
        std::ofstream(dir + "/config.json") << cfg.dump();
        QVERIFY(error_of([&] { model::load_llama(dir); }).contains("GPT2LMHeadModel"));
        cfg["architectures"] = {"MistralForCausalLM"};
        cfg["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
        std::ofstream(dir + "/config.json") << cfg.dump();
        QVERIFY(error_of([&] { model::load_llama(dir); }).contains("yarn"));
        cfg["rope_scaling"] = nullptr;
        cfg["intermediate_size"] = 100;  // no longer matches the stored tensors
        std::ofstream(dir + "/config.json") << cfg.dump();
        QString e = error_of([&] { model::load_llama(dir); });
        QVERIFY2(e.contains("model.safetensors") && e.contains("gate_proj") && e.contains("shape"), qPrintable(e));

        dir = copy_model(tmp, "tiny-llama3");
        fs::resize_file(dir + "/model.safetensors", fs::file_size(dir + "/model.safetensors") / 2);
        e = error_of([&] { model::load_llama(dir); });
        QVERIFY2(e.contains("model.safetensors"), qPrintable(e));
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
