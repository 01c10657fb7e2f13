// The LLaMA-family forward pass (Llama 2/3.x, Mistral with and without a
// sliding window, Qwen2, Qwen3), loss, eval windows and PEFT adapters against
// the independent Python reference (tests/reference/hf_llama_reference.py),
// and the model folders the loader must refuse, each with a one-line error.
// Tolerance: max |ours − ref| / max(|ref|, 1) ≤ 1e-4 on logits, relative 1e-4
// on losses, fp32 on CPU.
#include <QtTest/QtTest>

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/error.h"
#include "data/tokenizer.h"
#include "adapters/lora_adapter.h"
#include "adapters/peft.h"
#include "io/safetensors_torch.h"
#include "model/lm_loss.h"
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
    } catch (const std::exception& e) {
        return QStringLiteral("not a droplora::Error: ") + QString::fromStdString(e.what());
    }
    return {};
}

void write_json(const std::string& path, const nlohmann::json& j) { std::ofstream(path) << j.dump(2); }

// Edits a copied model's config.json and returns the loader's error (empty if it loads).
int g_model_copies = 0;

template <typename Edit>
QString load_error_after(const QTemporaryDir& tmp, const std::string& model, Edit&& edit) {
    // One counter for every instantiation (each Edit type is its own template function).
    const fs::path dir = fs::path(tmp.path().toStdString()) / (model + "-" + std::to_string(++g_model_copies));
    fs::copy(data_path("models/" + model), dir, fs::copy_options::recursive);
    auto cfg = read_json((dir / "config.json").string());
    edit(cfg);
    write_json((dir / "config.json").string(), cfg);
    return error_of([&] { model::load_llama(dir.string()); });
}

// One line, naming the file; no library text (nlohmann's "[json.exception...").
bool one_clean_line(const QString& e, const QString& file) {
    return !e.isEmpty() && !e.contains(QLatin1Char('\n')) && e.contains(file) && !e.contains("json.exception");
}

}  // namespace

class TestModel : public QObject {
    Q_OBJECT

private slots:
    void forward_matches_reference_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : {"tiny-llama-gqa", "tiny-llama-tied", "tiny-llama3", "tiny-mistral", "tiny-qwen2",
                              "tiny-qwen3", "tiny-llama32", "tiny-mistral-swa"})
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

    // The trainer's loss (model/lm_loss.h: only counted positions through lm_head, chunked, gradients in the
    // forward pass) against PyTorch's loss of the same batch, and its gradients against autograd through the
    // full logits.
    void loss_from_hidden_matches_reference_data() { forward_matches_reference_data(); }

    void loss_from_hidden_matches_reference() {
        QFETCH(QString, model);
        const std::string dir = data_path("models/" + model.toStdString());
        auto net = model::load_llama(dir);
        auto golden = io::load_all(dir + "/golden/forward.safetensors");
        const torch::Tensor labels = golden.at("labels");
        const torch::Tensor counted = (labels.narrow(1, 1, labels.size(1) - 1) != -100).sum();
        {
            torch::NoGradGuard no_grad;
            auto hidden = net->hidden_states(golden.at("input_ids"), golden.at("attention_mask"), nullptr);
            for (int64_t chunk : {int64_t{0}, int64_t{3}}) {
                const double loss = (model::causal_lm_loss_sum_from_hidden(hidden, net->lm_head_weight(), labels, chunk) /
                                     counted.to(torch::kFloat32))
                                        .item<double>();
                QVERIFY2(rel_diff(loss, golden.at("loss").item<double>()) <= kTol,
                         qPrintable(QString("chunk %1: loss %2 vs %3").arg(chunk).arg(loss).arg(golden.at("loss").item<double>())));
            }
        }
        // Gradients: d/dh and d/dW (W trained, as in full fine-tuning), chunks of 3 rows, against autograd.
        torch::manual_seed(3);
        const torch::Tensor h0 = torch::randn({2, 9, net->config().hidden_size});
        const torch::Tensor w0 = net->lm_head_weight().detach().clone();
        torch::Tensor y = torch::randint(0, net->config().vocab_size, {2, 9}, torch::kInt64);
        y.index_put_({0, torch::indexing::Slice(0, 4)}, -100);  // a prompt that does not count
        y.index_put_({1, 7}, -100);
        const auto grads = [&](bool fused, c10::ScalarType dtype) {
            auto h = h0.to(dtype).detach().clone().requires_grad_(true);
            auto w = w0.to(dtype).detach().clone().requires_grad_(true);
            auto loss = fused ? model::causal_lm_loss_sum_from_hidden(h, w, y, 3)
                              : model::causal_lm_loss_sum(torch::matmul(h, w.t()), y);
            (loss * 0.5).backward();  // a scaled loss, as the trainer divides by the step's tokens
            return std::vector<torch::Tensor>{loss.detach(), h.grad().to(torch::kFloat32), w.grad().to(torch::kFloat32)};
        };
        const auto ref = grads(false, torch::kFloat32), got = grads(true, torch::kFloat32);
        for (size_t i = 0; i < ref.size(); ++i)
            QVERIFY2(max_rel_error(got[i], ref[i]) <= 1e-5, qPrintable(QString("fp32 tensor %1: %2").arg(i).arg(max_rel_error(got[i], ref[i]))));
        // bf16 hidden states and weight (a bf16 run): the same to bf16's precision (8 bits: 2^-8 ≈ 0.4 %, ×2 for the products).
        const auto ref16 = grads(false, torch::kBFloat16), got16 = grads(true, torch::kBFloat16);
        QVERIFY(rel_diff(got16[0].item<double>(), ref16[0].item<double>()) <= 1e-2);
        QVERIFY2(max_rel_error(got16[1], ref16[1]) <= 2e-2, qPrintable(QString("bf16 d/dh %1").arg(max_rel_error(got16[1], ref16[1]))));
        // Nothing counted: zero, and the backward pass still runs.
        auto h = h0.clone().requires_grad_(true);
        auto none = model::causal_lm_loss_sum_from_hidden(h, w0, torch::full({2, 9}, -100, torch::kInt64));
        QCOMPARE(none.item<double>(), 0.0);
        none.backward();
        QCOMPARE(h.grad().abs().sum().item<double>(), 0.0);
    }

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

    // q/k/v and gate/up as one product each (model/linear.h ProjectionGroup, fused by the loader) against
    // the same model with every projection on its own: the loss and every adapter gradient of a DropLoRA
    // training step, with the adapters' input products shared (no input dropout) and not (dropout 0.1).
    // Tolerance: relative L2 1e-5 in fp32 (the products' summation order may differ), 2e-2 in bf16.
    void fused_projections_equal_separate_ones_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("bf16");
        QTest::newRow("llama-gqa fp32") << "tiny-llama-gqa" << false;
        QTest::newRow("qwen2 (q/k/v bias) fp32") << "tiny-qwen2" << false;
        QTest::newRow("qwen3 (q/k norm) fp32") << "tiny-qwen3" << false;
        QTest::newRow("llama-gqa bf16") << "tiny-llama-gqa" << true;
    }

    void fused_projections_equal_separate_ones() {
        QFETCH(QString, model);
        QFETCH(bool, bf16);
        const std::string dir = data_path("models/" + model.toStdString());
        model::LoadOptions lo;
        lo.dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
        auto fused = model::load_llama(dir, lo);
        auto apart = model::load_llama(dir, lo);
        for (auto& [name, lin] : apart->named_linears()) {  // storage of their own: one product per projection
            lin->weight.set_data(lin->weight.clone());
            if (lin->bias.defined()) lin->bias.set_data(lin->bias.clone());
        }
        for (const auto& layer : fused->layers) QVERIFY(layer->self_attn->qkv.fused() && layer->mlp->gate_up.fused());
        QVERIFY(!apart->layers[0]->self_attn->qkv.fused() && !apart->layers[0]->mlp->gate_up.fused());
        // Every Hugging Face name still holds its own tensor, with the file's values.
        const auto fused_state = fused->hf_state(), apart_state = apart->hf_state();
        QCOMPARE(fused_state.size(), apart_state.size());
        for (size_t i = 0; i < fused_state.size(); ++i) {
            QCOMPARE(fused_state[i].first, apart_state[i].first);
            QVERIFY2(torch::equal(fused_state[i].second, apart_state[i].second), fused_state[i].first.c_str());
        }
        auto golden = io::load_all(dir + "/golden/forward.safetensors");
        const double tol = bf16 ? 2e-2 : 1e-5;
        const auto rel_l2 = [](const torch::Tensor& a, const torch::Tensor& b) {
            auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
            return ((a64 - b64).norm() / b64.norm().clamp_min(1e-30)).item<double>();
        };
        for (double dropout : {0.0, 0.1}) {
            const auto step = [&](model::LlamaModel& net) {
                adapters::LoraOptions o;
                o.rank = 4, o.alpha = 8, o.drop_rate = 0.5, o.mask = adapters::MaskMode::Step, o.dropout = dropout;
                torch::manual_seed(7);
                std::vector<adapters::LoraAdapter> added;
                for (auto& [name, lin] : net->named_linears()) {
                    added.push_back(adapters::attach_lora(*lin, o));
                    torch::NoGradGuard no_grad;
                    added.back()->lora_B.normal_(0.0, 0.05);  // a trained-looking B, so Δ counts in the loss
                }
                net->train();
                torch::manual_seed(11);  // masks and dropout drawn in the same order in both models
                auto loss = model::causal_lm_loss(net->forward(golden.at("input_ids"), golden.at("attention_mask")),
                                                  golden.at("labels"));
                loss.backward();
                std::vector<torch::Tensor> out{loss.detach()};
                for (auto& a : added) {
                    out.push_back(a->lora_A.grad().clone());
                    out.push_back(a->lora_B.grad().clone());
                }
                for (auto& [name, lin] : net->named_linears()) lin->remove_adapter();
                net->eval();
                return out;
            };
            const auto got = step(fused), want = step(apart);
            QCOMPARE(got.size(), want.size());
            for (size_t i = 0; i < got.size(); ++i) {
                const double err = rel_l2(got[i], want[i]);
                QVERIFY2(err <= tol, qPrintable(QString("dropout %1, tensor %2: %3").arg(dropout).arg(i).arg(err)));
            }
            QVERIFY(want[2].abs().sum().item<double>() > 0);  // gradients reached q_proj's B
        }
        // A trained base weight (method: full) needs its own gradient: the group falls back to one product
        // per projection, and the weight's gradient is autograd's.
        auto& attn = fused->layers[0]->self_attn;
        attn->k_proj->weight.set_requires_grad(true);
        QVERIFY(!attn->qkv.fused());
        auto loss = model::causal_lm_loss(fused->forward(golden.at("input_ids"), golden.at("attention_mask")),
                                          golden.at("labels"));
        loss.backward();
        QVERIFY(attn->k_proj->weight.grad().defined() && attn->k_proj->weight.grad().abs().sum().item<double>() > 0);
        attn->k_proj->weight.set_requires_grad(false);
        QVERIFY(attn->qkv.fused());
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

    void architectures_keep_their_config() {
        auto qwen2 = model::load_llama(data_path("models/tiny-qwen2"));
        const auto& c2 = qwen2->config();
        QCOMPARE(c2.architecture, std::string("Qwen2ForCausalLM"));
        QVERIFY(c2.qkv_bias && !c2.o_bias && !c2.qk_norm && c2.tie_word_embeddings);
        QVERIFY(!c2.sliding_window);  // use_sliding_window false: the key is ignored
        auto& attn = qwen2->layers[0]->self_attn;
        QVERIFY(attn->q_proj->bias.defined() && attn->k_proj->bias.defined() && attn->v_proj->bias.defined());
        QVERIFY(!attn->o_proj->bias.defined());

        auto qwen3 = model::load_llama(data_path("models/tiny-qwen3"));
        const auto& c3 = qwen3->config();
        QVERIFY(c3.qk_norm && !c3.qkv_bias && !c3.o_bias);
        QCOMPARE(c3.head_dim, int64_t{32});  // explicit, ≠ 48 / 4
        QCOMPARE(c3.torch_dtype, std::string("float32"));  // read from "dtype"
        QCOMPARE(qwen3->layers[1]->self_attn->q_norm.size(0), int64_t{32});

        auto llama32 = model::load_llama(data_path("models/tiny-llama32"));
        QVERIFY(llama32->config().rope_scaling.type == model::RopeType::Llama3);
        QCOMPARE(llama32->config().eos_token_id, int64_t{2});  // first of [2, 5]
        QCOMPARE(model::load_llama(data_path("models/tiny-mistral-swa"))->config().sliding_window.value_or(0),
                 int64_t{6});

        // A merged export writes the source config back: architecture and its own keys kept.
        auto j = c3.to_json();
        QCOMPARE(j["architectures"][0].get<std::string>(), std::string("Qwen3ForCausalLM"));
        QCOMPARE(j["model_type"].get<std::string>(), std::string("qwen3"));
        QVERIFY(j.contains("layer_types") && j.contains("use_sliding_window") && j["head_dim"] == 32);
        QVERIFY(model::LlamaConfig::from_json(j, "round trip").qk_norm);
        QVERIFY(c2.to_json()["use_sliding_window"] == false && !c2.to_json().contains("attention_bias"));
    }

    void sliding_window_decoding_equals_full_forward() {
        // W = 6: after 6 cached tokens each new query must drop the oldest key.
        auto net = model::load_llama(data_path("models/tiny-mistral-swa"));
        auto golden = io::load_all(data_path("models/tiny-mistral-swa/golden/forward.safetensors"));
        auto ids = golden.at("input_ids").narrow(0, 0, 1);
        torch::NoGradGuard no_grad;
        auto full = net->forward(ids);
        QVERIFY(max_rel_error(full, golden.at("logits").narrow(0, 0, 1)) <= kTol);
        model::KVCache cache;
        std::vector<torch::Tensor> parts{net->forward(ids.narrow(1, 0, 4), {}, &cache)};
        for (int64_t t = 4; t < ids.size(1); ++t) parts.push_back(net->forward(ids.narrow(1, t, 1), {}, &cache));
        QVERIFY(max_rel_error(torch::cat(parts, 1), full) <= 1e-5);
    }

    void window_at_least_the_sequence_is_full_attention() {
        QTemporaryDir tmp;
        auto golden = io::load_all(data_path("models/tiny-mistral-swa/golden/forward.safetensors"));
        const auto ids = golden.at("input_ids"), mask = golden.at("attention_mask");
        auto logits_with = [&](const nlohmann::json& window) {
            const fs::path dir = fs::path(tmp.path().toStdString()) / ("w" + window.dump());
            fs::copy(data_path("models/tiny-mistral-swa"), dir, fs::copy_options::recursive);
            auto cfg = read_json((dir / "config.json").string());
            cfg["sliding_window"] = window;
            write_json((dir / "config.json").string(), cfg);
            torch::NoGradGuard no_grad;
            return model::load_llama(dir.string())->forward(ids, mask);
        };
        auto w24 = logits_with(24);  // = the sequence length: hides nothing
        auto none = logits_with(nullptr);
        QVERIFY(max_rel_error(w24, none) <= 1e-6);
        QVERIFY(max_rel_error(w24, golden.at("logits")) > 1e-2);  // while W = 6 does change the result
        QVERIFY(max_rel_error(logits_with(23), none) > 1e-3);       // one key short of the sequence already shows
    }

    void unsupported_configs_are_one_line_errors() {
        QTemporaryDir tmp;
        QString e = load_error_after(tmp, "tiny-qwen2", [](auto& c) {
            c["use_sliding_window"] = true;
            c["max_window_layers"] = 1;
        });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains("use_sliding_window"), qPrintable(e));
        // use_sliding_window with every layer below max_window_layers uses no window: fine.
        e = load_error_after(tmp, "tiny-qwen2", [](auto& c) {
            c["use_sliding_window"] = true;
            c["max_window_layers"] = 2;
        });
        QVERIFY2(e.isEmpty(), qPrintable(e));
        e = load_error_after(tmp, "tiny-qwen3", [](auto& c) { c["layer_types"][1] = "sliding_attention"; });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains("layer_types") && e.contains("sliding_attention"),
                 qPrintable(e));
        e = load_error_after(tmp, "tiny-qwen3", [](auto& c) { c["architectures"] = {"Qwen3MoeForCausalLM"}; });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains("architectures") && e.contains("Qwen3MoeForCausalLM"),
                 qPrintable(e));
        e = load_error_after(tmp, "tiny-qwen3", [](auto& c) { c["model_type"] = "llama"; });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains("model_type"), qPrintable(e));
        e = load_error_after(tmp, "tiny-qwen3", [](auto& c) { c["num_experts"] = 8; });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains("num_experts"), qPrintable(e));
        e = load_error_after(tmp, "tiny-llama32", [](auto& c) { c["rope_scaling"]["rope_type"] = "yarn"; });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains("yarn"), qPrintable(e));
        // Qwen2's biases are not silently dropped when the config says Llama.
        e = load_error_after(tmp, "tiny-qwen2", [](auto& c) {
            c["architectures"] = {"LlamaForCausalLM"};
            c["model_type"] = "llama";
        });
        QVERIFY2(one_clean_line(e, "tiny-qwen2") && e.contains("_proj.bias") && e.contains("LlamaForCausalLM"),
                 qPrintable(e));
        // A Qwen3 config over Llama-shaped tensors: the q/k norms are missing.
        e = load_error_after(tmp, "tiny-llama32", [](auto& c) {
            c["architectures"] = {"Qwen3ForCausalLM"};
            c["model_type"] = "qwen3";
            c.erase("rope_scaling");
        });
        QVERIFY2(one_clean_line(e, "tiny-llama32") && e.contains("q_norm"), qPrintable(e));
    }

    void config_type_errors_name_the_key_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");  // JSON
        QTest::newRow("hidden_size string") << "hidden_size" << "\"64\"";
        QTest::newRow("hidden_size float") << "hidden_size" << "64.5";
        QTest::newRow("model_type number") << "model_type" << "7";
        QTest::newRow("architectures string") << "architectures" << "\"LlamaForCausalLM\"";
        QTest::newRow("hidden_act list") << "hidden_act" << "[\"silu\"]";
        QTest::newRow("tie_word_embeddings string") << "tie_word_embeddings" << "\"false\"";
        QTest::newRow("rope_theta string") << "rope_theta" << "\"10000\"";
        QTest::newRow("rope_scaling list") << "rope_scaling" << "[1]";
        QTest::newRow("eos_token_id string") << "eos_token_id" << "\"</s>\"";
        QTest::newRow("num_hidden_layers huge") << "num_hidden_layers" << "18446744073709551615";
        QTest::newRow("sliding_window string") << "sliding_window" << "\"4096\"";
    }

    void config_type_errors_name_the_key() {
        QFETCH(QString, key);
        QFETCH(QString, value);
        QTemporaryDir tmp;
        const std::string k = key.toStdString();
        const auto v = nlohmann::json::parse(value.toStdString());
        const QString e = load_error_after(tmp, "tiny-mistral", [&](auto& c) { c[k] = v; });
        QVERIFY2(one_clean_line(e, "config.json") && e.contains(key), qPrintable(e));
    }

    void shapes_are_checked_before_allocation() {
        QTemporaryDir tmp;
        // hidden_size ×2^30: allocating the embedding alone would need 256 TB; the
        // headers say no first (a c10 allocation error would not be a droplora::Error).
        QString e = load_error_after(tmp, "tiny-llama-gqa", [](auto& c) { c["hidden_size"] = int64_t{64} << 30; });
        QVERIFY2(one_clean_line(e, "model.safetensors") && e.contains("shape") && e.contains("config.json"),
                 qPrintable(e));
        e = load_error_after(tmp, "tiny-llama-gqa", [](auto& c) { c["vocab_size"] = int64_t{1} << 40; });
        QVERIFY2(one_clean_line(e, "model.safetensors") && e.contains("embed_tokens"), qPrintable(e));
        e = load_error_after(tmp, "tiny-llama-gqa", [](auto& c) { c["num_hidden_layers"] = 2000000000; });
        QVERIFY2(one_clean_line(e, "tiny-llama-gqa") && e.contains("model.layers.2.") && e.contains("missing"),
                 qPrintable(e));
        e = load_error_after(tmp, "tiny-qwen3", [](auto& c) { c["head_dim"] = 16; });
        QVERIFY2(one_clean_line(e, "model.safetensors") && e.contains("shape"), qPrintable(e));
    }

    void non_finite_weights_are_named_at_load_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("tensor");
        QTest::addColumn<double>("value");
        QTest::newRow("nan f32") << "tiny-llama-gqa" << "model.layers.1.mlp.down_proj.weight" << double(NAN);
        QTest::newRow("inf bf16") << "tiny-qwen2" << "model.layers.0.self_attn.k_proj.bias" << double(INFINITY);
    }

    void non_finite_weights_are_named_at_load() {
        QFETCH(QString, model);
        QFETCH(QString, tensor);
        QFETCH(double, value);
        QTemporaryDir tmp;
        const std::string dir = copy_model(tmp, model.toStdString());
        const std::string file = dir + "/model.safetensors";
        auto tensors = io::load_all(file);
        tensors.at(tensor.toStdString()).view({-1})[3] = value;
        const std::vector<std::pair<std::string, at::Tensor>> edited(tensors.begin(), tensors.end());
        io::save_tensors(file, edited, {{"format", "pt"}});
        const QString e = error_of([&] { model::load_llama(dir); });
        QVERIFY2(one_clean_line(e, "model.safetensors") && e.contains(tensor) && e.contains("NaN or infinite"),
                 qPrintable(e));
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
