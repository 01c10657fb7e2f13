// LoRA / DropLoRA adapter behaviour: initialisation, p = 0 ≡ LoRA, keep rates,
// unbiasedness of the masked output, gradients of dropped channels, and the
// learned mask folded into B for export. Statistical bounds are stated per test.
#include <QtTest/QtTest>

#include <cmath>

#include <torch/torch.h>

#include "adapters/lora_adapter.h"
#include "model/linear.h"
#include "test_helpers.h"

using namespace droplora;
using adapters::LoraAdapter;
using adapters::LoraOptions;
using adapters::MaskMode;

namespace {

LoraOptions options(double p, MaskMode mode, int64_t r = 8) {
    LoraOptions o;
    o.rank = r;
    o.alpha = 16;
    o.drop_rate = p;
    o.mask = mode;
    return o;
}

// An adapter with a non-zero B, so its output is not trivially zero.
LoraAdapter trained_like(int64_t in, int64_t out, const LoraOptions& o, uint64_t seed) {
    torch::manual_seed(seed);
    LoraAdapter a(in, out, o);
    torch::NoGradGuard ng;
    a->lora_B.normal_(0, 0.5);
    return a;
}

}  // namespace

class TestAdapters : public QObject {
    Q_OBJECT

private slots:
    void initialisation_matches_peft() {
        torch::manual_seed(1);
        LoraAdapter a(64, 32, options(0.5, MaskMode::Step));
        const double bound = 1.0 / std::sqrt(64.0);  // kaiming_uniform(a=√5): U(−1/√in, 1/√in)
        QVERIFY(a->lora_A.abs().max().item<double>() <= bound);
        QVERIFY(a->lora_A.abs().max().item<double>() > 0.8 * bound);
        QVERIFY(a->lora_B.abs().max().item<double>() == 0.0);
        a->train();
        auto x = torch::randn({3, 5, 64});
        QVERIFY(a->forward(x).abs().max().item<double>() == 0.0);  // a fresh adapter changes nothing
        QCOMPARE(options(0, MaskMode::None).scaling(), 2.0);
        auto rs = options(0, MaskMode::None);
        rs.rslora = true;
        QCOMPARE(rs.scaling(), 16.0 / std::sqrt(8.0));
    }

    void zero_drop_rate_is_plain_lora_bit_for_bit() {
        for (MaskMode mode : {MaskMode::Step, MaskMode::Token, MaskMode::Learned}) {
            auto lora = trained_like(32, 24, options(0.0, MaskMode::None), 7);
            auto drop = trained_like(32, 24, options(0.0, mode), 7);
            lora->train();
            drop->train();
            drop->resample_step_mask();
            auto x = torch::randn({4, 6, 32});
            auto y1 = lora->forward(x);
            auto y2 = drop->forward(x);
            QVERIFY(torch::equal(y1, y2));
            y1.pow(2).sum().backward();
            y2.pow(2).sum().backward();
            QVERIFY(torch::equal(lora->lora_A.grad(), drop->lora_A.grad()));
            QVERIFY(torch::equal(lora->lora_B.grad(), drop->lora_B.grad()));
        }
    }

    void step_mask_keep_rate_matches_one_minus_p() {
        // 2000 draws × 16 channels of Bernoulli(0.7): σ of the mean = √(0.21/32000) ≈ 0.0026; bound 5σ.
        torch::manual_seed(3);
        auto a = trained_like(8, 8, options(0.3, MaskMode::Step, 16), 3);
        a->train();
        auto x = torch::randn({1, 8});
        int64_t samples = 0;
        a->take_keep_counts(&samples);
        for (int i = 0; i < 2000; ++i) {
            a->resample_step_mask();
            a->forward(x);
        }
        auto kept = a->take_keep_counts(&samples);
        QCOMPARE(samples, int64_t{2000});
        const double rate = kept.sum().item<double>() / (2000.0 * 16);
        QVERIFY2(std::abs(rate - 0.7) < 5 * std::sqrt(0.21 / 32000), qPrintable(QString::number(rate)));
    }

    void token_mask_keep_rate_matches_one_minus_p() {
        // 4096 tokens × 16 channels of Bernoulli(0.5): σ = √(0.25/65536) ≈ 0.002; bound 5σ per whole, 5σ·4 per channel.
        auto a = trained_like(8, 8, options(0.5, MaskMode::Token, 16), 4);
        a->train();
        int64_t samples = 0;
        a->forward(torch::randn({64, 64, 8}));
        auto kept = a->take_keep_counts(&samples);
        QCOMPARE(samples, int64_t{1});
        QVERIFY(std::abs(kept.mean().item<double>() - 0.5) < 5 * 0.002);
        QVERIFY((kept - 0.5).abs().max().item<double>() < 5 * std::sqrt(0.25 / 4096));
    }

    void masked_output_is_unbiased() {
        // E[m_i / keep] = 1, so the mean of N masked outputs tends to the unmasked one.
        // Per element: Var = (1−keep)/keep · Σ_i c_i² with c_i = s·B[:,i]·(A·x)_i; bound 6σ/√N.
        for (MaskMode mode : {MaskMode::Step, MaskMode::Token}) {
            auto a = trained_like(16, 12, options(0.4, mode, 8), 5);
            auto x = torch::randn({1, 16});
            a->eval();
            auto clean = a->forward(x).to(torch::kFloat64);
            a->train();
            const int N = 4000;
            auto sum = torch::zeros_like(clean);
            for (int i = 0; i < N; ++i) {
                a->resample_step_mask();
                sum += a->forward(x).to(torch::kFloat64);
            }
            auto z = x.matmul(a->lora_A.t()).to(torch::kFloat64);          // [1, r]
            auto c = a->lora_B.to(torch::kFloat64) * z * a->options().scaling();  // [out, r]
            auto sigma = (c.pow(2).sum(1) * (0.4 / 0.6)).sqrt() / std::sqrt(double(N));
            auto err = (sum / N - clean).abs().squeeze(0);
            QVERIFY2((err <= 6 * sigma + 1e-9).all().item<bool>(), qPrintable(QString("mode %1").arg(int(mode))));
        }
    }

    void step_mode_dropped_channels_get_no_gradient() {
        auto a = trained_like(16, 12, options(0.5, MaskMode::Step, 16), 9);
        a->train();
        a->resample_step_mask();
        auto x = torch::randn({2, 3, 16});
        auto y = a->forward(x);
        auto again = a->forward(x);  // the same step: the same mask for every micro-batch
        QVERIFY(torch::equal(y, again));
        (y.pow(2).sum() + again.sum()).backward();
        int64_t samples = 0;
        auto kept = a->take_keep_counts(&samples);
        kept = kept / static_cast<double>(samples);  // 0/1 per channel this step
        int dropped = 0, live = 0;
        for (int64_t i = 0; i < 16; ++i) {
            const double gA = a->lora_A.grad()[i].abs().sum().item<double>();
            const double gB = a->lora_B.grad().select(1, i).abs().sum().item<double>();
            if (kept[i].item<double>() == 0.0) {
                ++dropped;
                QCOMPARE(gA, 0.0);
                QCOMPARE(gB, 0.0);
            } else {
                ++live;
                QVERIFY2(gA > 0 && gB > 0, qPrintable(QString("channel %1 kept %2: gA %3 gB %4").arg(i).arg(kept[i].item<double>()).arg(gA).arg(gB)));
            }
        }
        QVERIFY(dropped > 0 && live > 0);  // P(all kept or all dropped) = 2·0.5^16
    }

    void learned_mask_export_equals_evaluation() {
        auto a = trained_like(24, 20, options(0.5, MaskMode::Learned, 8), 11);
        {
            torch::NoGradGuard ng;
            a->mask_logits.copy_(torch::linspace(-1, 1, 8));  // keeps the 4 largest: channels 4..7
        }
        a->eval();
        auto x = torch::randn({3, 24});
        auto y = a->forward(x);
        auto merged = x.matmul(a->delta_weight().t());  // what the export merges: s·B'·A
        QVERIFY(droplora::testing::max_rel_error(y, merged) <= 1e-5);
        auto b = a->effective_B();
        QCOMPARE(b.narrow(1, 0, 4).abs().max().item<double>(), 0.0);
        QVERIFY(torch::allclose(b.narrow(1, 4, 4), a->lora_B.narrow(1, 4, 4) * 2.0));  // 1/keep = 8/4
        // Straight-through: the logits receive a gradient although the mask is hard.
        a->train();
        a->forward(x).pow(2).sum().backward();
        QVERIFY(a->mask_logits.grad().defined());
        QVERIFY(a->mask_logits.grad().abs().sum().item<double>() > 0);
    }

    void linear_merge_equals_adapter() {
        torch::manual_seed(2);
        model::Linear lin(16, 8, true);
        {
            torch::NoGradGuard ng;
            lin->weight.normal_();
            lin->bias.normal_();
        }
        auto ad = adapters::attach_lora(*lin, options(0.5, MaskMode::Step));
        {
            torch::NoGradGuard ng;
            ad->lora_B.normal_();
        }
        lin->eval();
        auto x = torch::randn({5, 16});
        auto y = lin->forward(x);
        lin->merge_adapter();
        QVERIFY(!lin->has_adapter());
        QVERIFY(droplora::testing::max_rel_error(lin->forward(x), y) <= 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestAdapters)
#include "test_adapters.moc"
