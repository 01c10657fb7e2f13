// Dataset evaluation (train/task_eval.h) on the tiny GQA fixture model.
//
// The reference loss is computed here independently: each row's ids are built
// by hand (BOS + the alpaca prompt string + the output + EOS, encoded piece by
// piece as docs/formats.md §2 says), run through the model one row at a time, and
// the response tokens' cross-entropy is summed in float64 from log_softmax.
// Tolerance: 1e-6 relative (the engine batches rows with padding; fp32 sums).
// Exact match: one row's output is the model's own greedy answer (obtained here
// with model::generate), so it must match; the others differ by construction.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <cmath>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "model/generate.h"
#include "model/loader.h"
#include "train/task_eval.h"

using namespace droplora;
using Ids = std::vector<int64_t>;

namespace {

const std::string kModelDir = DROPLORA_TEST_DATA "/models/tiny-llama-gqa";
// The fixture's context is 128 tokens and its 1000-piece tokenizer spends ~110
// of them on the alpaca prompt: short answers keep every row whole.
constexpr int64_t kMaxNew = 6;

struct AlpacaRow {
    std::string instruction, input, output;
};

std::string alpaca_prompt(const AlpacaRow& r) {
    if (r.input.empty())
        return "Below is an instruction that describes a task. Write a response that appropriately completes the "
               "request.\n\n### Instruction:\n" +
               r.instruction + "\n\n### Response:";
    return "Below is an instruction that describes a task, paired with an input that provides further context. "
           "Write a response that appropriately completes the request.\n\n### Instruction:\n" +
           r.instruction + "\n\n### Input:\n" + r.input + "\n\n### Response:";
}

Ids prompt_ids(const data::Tokenizer& tok, const AlpacaRow& r) {
    Ids ids{tok.bos_id()};
    const Ids p = tok.encode(alpaca_prompt(r));
    ids.insert(ids.end(), p.begin(), p.end());
    return ids;
}

QString error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestTaskEval : public QObject {
    Q_OBJECT

    model::LlamaModel model_{nullptr};
    std::shared_ptr<data::Tokenizer> tok_;
    QTemporaryDir dir_;

    std::string greedy(const AlpacaRow& r) {
        model::GenerateOptions g;
        g.max_new_tokens = kMaxNew;
        g.eos_id = tok_->eos_id();
        return train::trim_whitespace(tok_->decode(model::generate(*model_, prompt_ids(*tok_, r), g)));
    }

    std::string write_rows(const std::string& name, const std::vector<AlpacaRow>& rows) {
        const std::string path = dir_.path().toStdString() + "/" + name;
        std::ofstream out(path);
        for (const auto& r : rows) {
            nlohmann::json j = {{"instruction", r.instruction}, {"output", r.output}};
            if (!r.input.empty()) j["input"] = r.input;
            out << j.dump() << "\n";
        }
        return path;
    }

    // Σ −log p(response token) over the rows and the number of such tokens, one row at a time.
    std::pair<double, int64_t> reference_loss(const std::vector<AlpacaRow>& rows) {
        torch::NoGradGuard no_grad;
        double sum = 0;
        int64_t count = 0;
        for (const auto& r : rows) {
            Ids ids = prompt_ids(*tok_, r);
            const size_t first_target = ids.size();
            const Ids out = tok_->encode(r.output);
            ids.insert(ids.end(), out.begin(), out.end());
            ids.push_back(tok_->eos_id());
            const auto input = torch::tensor(ids, torch::kInt64).unsqueeze(0);                    // [1, T]
            const auto logp = torch::log_softmax(model_->forward(input)[0].to(torch::kFloat64), -1);  // [T, V]
            for (size_t t = first_target; t < ids.size(); ++t) {
                sum -= logp[static_cast<int64_t>(t) - 1][ids[t]].item<double>();
                ++count;
            }
        }
        return {sum, count};
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        tok_ = data::Tokenizer::load(kModelDir);
        model_ = model::load_llama(kModelDir);
        model_->eval();
    }

    void loss_and_exact_match() {
        const AlpacaRow a{"Repeat the words.", "red cat lamp", ""};
        const AlpacaRow c{"Name a color.", "", ""};
        const std::string answer_a = greedy(a);
        const std::string answer_c = greedy(c);
        const std::vector<AlpacaRow> rows = {
            {a.instruction, a.input, answer_a + "  "},           // the model's own answer: a match (trimmed)
            {"Sort the words.", "red cat lamp", answer_a},        // another prompt: answer_a is not its greedy output…
            {c.instruction, c.input, "Answer: " + answer_c},      // …and this reference is longer than the answer
        };
        QVERIFY(!answer_a.empty());  // row 1's output must not start with a space (see tokenize's dummy prefix)
        // Row 2 is a match only if its own greedy answer happens to be answer_a; make sure it is not.
        QVERIFY(greedy({rows[1].instruction, rows[1].input, ""}) != answer_a);
        const std::string path = write_rows("three.jsonl", rows);

        train::TaskEvalOptions o;
        o.max_new_tokens = kMaxNew;
        o.batch_size = 2;  // one full batch and one short one
        const auto r = train::evaluate_dataset(*model_, *tok_, path, o);
        const auto [ref_sum, ref_count] = reference_loss(rows);
        QCOMPARE(r.examples, int64_t{3});
        QCOMPARE(r.truncated, int64_t{0});
        QCOMPARE(r.tokens, ref_count);
        QVERIFY2(std::abs(r.loss - ref_sum / ref_count) <= 1e-6 * (ref_sum / ref_count),
                 qPrintable(QString("loss %1 vs reference %2").arg(r.loss, 0, 'g', 12).arg(ref_sum / ref_count, 0, 'g', 12)));
        QVERIFY(std::abs(r.perplexity - std::exp(r.loss)) <= 1e-9 * r.perplexity);
        QCOMPARE(r.generated, int64_t{3});
        QCOMPARE(r.matched, int64_t{1});
        QCOMPARE(r.exact_match(), 1.0 / 3.0);
        QCOMPARE(r.prompt_too_long, int64_t{0});

        // Loss only: the same loss, nothing generated.
        o.generate = false;
        const auto l = train::evaluate_dataset(*model_, *tok_, path, o);
        QCOMPARE(l.loss, r.loss);
        QCOMPARE(l.generated, int64_t{0});
        QCOMPARE(l.matched, int64_t{0});
    }

    void every_row_matches_its_own_answer() {
        std::vector<AlpacaRow> rows = {{"Repeat the words.", "blue sky", ""}, {"Count to three.", "", ""}};
        for (auto& r : rows) r.output = greedy(r);
        train::TaskEvalOptions o;
        o.max_new_tokens = kMaxNew;
        const auto r = train::evaluate_dataset(*model_, *tok_, write_rows("own.jsonl", rows), o);
        QCOMPARE(r.matched, int64_t{2});
        QCOMPARE(r.exact_match(), 1.0);
    }

    void truncation_scores_what_fits() {
        const std::vector<AlpacaRow> rows = {{"Repeat the words.", "red cat lamp", "red cat lamp and a long tail"}};
        const int64_t prompt_len = static_cast<int64_t>(prompt_ids(*tok_, rows[0]).size());
        train::TaskEvalOptions o;
        o.generate = false;
        o.max_seq_len = prompt_len + 2;  // targets: the first two response tokens
        const auto r = train::evaluate_dataset(*model_, *tok_, write_rows("long.jsonl", rows), o);
        QCOMPARE(r.truncated, int64_t{1});
        QCOMPARE(r.tokens, int64_t{2});
    }

    void unusable_rows_are_errors() {
        const std::string dir = dir_.path().toStdString();
        std::ofstream(dir + "/text.jsonl") << "{\"text\": \"just a document\"}\n";
        std::ofstream(dir + "/open.jsonl")
            << "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n"
            << "{\"messages\": [{\"role\": \"user\", \"content\": \"and then?\"}]}\n";
        train::TaskEvalOptions o;
        const QString text = error_of([&] { train::evaluate_dataset(*model_, *tok_, dir + "/text.jsonl", o); });
        QVERIFY2(text.contains("text.jsonl:1") && text.contains("text document"), qPrintable(text));
        const QString open = error_of([&] { train::evaluate_dataset(*model_, *tok_, dir + "/open.jsonl", o); });
        QVERIFY2(open.contains("open.jsonl:2") && open.contains("assistant"), qPrintable(open));
        const QString missing = error_of([&] { train::evaluate_dataset(*model_, *tok_, dir + "/none.jsonl", o); });
        QVERIFY2(missing.contains("none.jsonl"), qPrintable(missing));
        // Without generation a text document is scored like any response.
        o.generate = false;
        const auto r = train::evaluate_dataset(*model_, *tok_, dir + "/text.jsonl", o);
        QVERIFY(r.tokens > 0 && std::isfinite(r.loss));
    }

    void trim_whitespace_trims_both_ends() {
        QCOMPARE(train::trim_whitespace(" \t a b \n"), std::string("a b"));
        QCOMPARE(train::trim_whitespace(" \n "), std::string());
        QCOMPARE(train::trim_whitespace("x"), std::string("x"));
    }
};

QTEST_GUILESS_MAIN(TestTaskEval)
#include "test_task_eval.moc"
