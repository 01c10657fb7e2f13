// Rank-channel and subspace statistics against dense references: the r×r
// route to σ(ΔW) equals torch's SVD of the full ΔW = s·B·A (fp64, 1e-9
// relative), effective rank and drift equal their closed forms.
#include <QtTest/QtTest>

#include <cmath>

#include <torch/torch.h>

#include "adapters/lora_adapter.h"
#include "analysis/channel_stats.h"
#include "model/linear.h"

using droplora::analysis::ChannelStatistics;

class TestAnalysis : public QObject {
    Q_OBJECT

private slots:
    void spectrum_equals_dense_svd() {
        torch::manual_seed(0);
        auto B = torch::randn({40, 6}, torch::kFloat64);
        auto A = torch::randn({6, 30}, torch::kFloat64);
        const double s = 0.75;
        auto spec = ChannelStatistics::spectrum(B, A, s);
        auto dense = torch::linalg::svdvals(B.matmul(A) * s, c10::nullopt);  // [min(out, in)], the last ones ~0
        auto top = dense.narrow(0, 0, 6);
        QVERIFY(((spec.singular_values - top).abs() / top).max().item<double>() < 1e-9);
        // The left basis spans ΔW's column space and is orthonormal.
        auto U = spec.left_basis;
        QVERIFY((U.t().matmul(U) - torch::eye(6, torch::kFloat64)).abs().max().item<double>() < 1e-9);
        auto dW = B.matmul(A) * s;
        QVERIFY((dW - U.matmul(U.t()).matmul(dW)).abs().max().item<double>() < 1e-9);
    }

    void effective_rank_closed_forms() {
        QVERIFY(std::abs(ChannelStatistics::effective_rank(torch::ones({8}, torch::kFloat64)) - 8.0) < 1e-12);
        QVERIFY(std::abs(ChannelStatistics::effective_rank(torch::tensor({5.0, 0.0, 0.0})) - 1.0) < 1e-12);
        // p = (0.5, 0.5·… ) → exp(H): two equal values = 2
        QVERIFY(std::abs(ChannelStatistics::effective_rank(torch::tensor({3.0, 3.0, 0.0})) - 2.0) < 1e-12);
        QCOMPARE(ChannelStatistics::effective_rank(torch::zeros({4}, torch::kFloat64)), 0.0);
    }

    void drift_closed_forms() {
        auto e = torch::eye(4, torch::kFloat64);
        auto U0 = e.narrow(1, 0, 2);  // span(e0, e1)
        QVERIFY(ChannelStatistics::subspace_drift(U0, U0) < 1e-12);
        QVERIFY(std::abs(ChannelStatistics::subspace_drift(U0, e.narrow(1, 2, 2)) - 1.0) < 1e-12);
        // Rotate e1 towards e2 by θ: principal angles (0, θ) → mean sin² = sin²θ / 2.
        const double th = 0.3;
        auto U1 = U0.clone();
        U1.select(1, 1).copy_(e.select(1, 1) * std::cos(th) + e.select(1, 2) * std::sin(th));
        QVERIFY(std::abs(ChannelStatistics::subspace_drift(U0, U1) - std::pow(std::sin(th), 2) / 2) < 1e-12);
        // Independent of the basis chosen inside the subspace.
        auto R = torch::tensor({{std::cos(1.0), -std::sin(1.0)}, {std::sin(1.0), std::cos(1.0)}}, torch::kFloat64);
        QVERIFY(ChannelStatistics::subspace_drift(U0, U0.matmul(R)) < 1e-12);
    }

    void collect_reports_every_channel() {
        torch::manual_seed(4);
        droplora::model::Linear lin(12, 10, false);
        droplora::adapters::LoraOptions o;
        o.rank = 4;
        o.alpha = 8;
        o.drop_rate = 0.5;
        o.mask = droplora::adapters::MaskMode::Step;
        auto ad = droplora::adapters::attach_lora(*lin, o);
        {
            torch::NoGradGuard ng;
            ad->lora_B.normal_();
        }
        lin->train();
        ad->resample_step_mask();
        lin->forward(torch::randn({3, 12})).sum().backward();
        ChannelStatistics stats;
        auto s1 = stats.collect(5, {{"model.layers.0.self_attn.q_proj", lin}});
        QCOMPARE(s1.step, int64_t{5});
        QCOMPARE(s1.modules.size(), size_t{1});
        const auto& m = s1.modules[0];
        QCOMPARE(m.keep_fraction.size(), size_t{4});
        QCOMPARE(m.energy.size(), size_t{4});
        QCOMPARE(m.grad_norm.size(), size_t{4});
        QCOMPARE(m.singular_values.size(), size_t{4});
        for (size_t i = 0; i < 4; ++i) {
            QVERIFY(m.keep_fraction[i] == 0.0 || m.keep_fraction[i] == 1.0);
            const double energy = 2.0 * ad->lora_B.select(1, i).norm().item<double>() * ad->lora_A[i].norm().item<double>();
            QVERIFY(std::abs(m.energy[i] - energy) < 1e-6 * std::max(1.0, energy));
            QCOMPARE(m.grad_norm[i] == 0.0, m.keep_fraction[i] == 0.0);  // dropped channels got no gradient
        }
        QCOMPARE(m.drift_prev, 0.0);  // first sample
        {
            torch::NoGradGuard ng;
            ad->lora_B.add_(torch::randn_like(ad->lora_B));
        }
        auto s2 = stats.collect(10, {{"model.layers.0.self_attn.q_proj", lin}});
        QVERIFY(s2.modules[0].drift_prev > 0 && s2.modules[0].drift_prev <= 1);
        QCOMPARE(s2.modules[0].drift_first, s2.modules[0].drift_prev);
    }
};

QTEST_GUILESS_MAIN(TestAnalysis)
#include "test_analysis.moc"
