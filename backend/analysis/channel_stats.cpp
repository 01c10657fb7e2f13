#include "adapters/lora_adapter.h"
#include "analysis/channel_stats.h"

#include <cmath>

#include <torch/torch.h>

namespace droplora::analysis {

namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// Directions whose singular value is above this share of the largest count as
// part of the learned subspace.
constexpr double kRelativeRankCut = 1e-6;

torch::Tensor significant_basis(const ChannelStatistics::Spectrum& s) {
    const auto sv = s.singular_values;
    if (sv.numel() == 0) return {};
    const double top = sv[0].item<double>();
    if (!(top > 0)) return {};
    const int64_t k = (sv > top * kRelativeRankCut).sum().item<int64_t>();
    return s.left_basis.narrow(1, 0, k);
}

}  // namespace

ChannelStatistics::Spectrum ChannelStatistics::spectrum(const torch::Tensor& B, const torch::Tensor& A,
                                                        double scaling) {
    torch::NoGradGuard no_grad;
    auto b = B.detach().to(torch::kFloat64);  // [out, r]
    auto a = A.detach().to(torch::kFloat64);  // [r, in]
    auto [qb, rb] = torch::linalg::qr(b, "reduced");      // [out, r], [r, r]
    auto [qa, ra] = torch::linalg::qr(a.t(), "reduced");  // [in, r],  [r, r]
    auto core = rb.matmul(ra.t()) * scaling;              // [r, r]
    auto [u, sv, vh] = torch::linalg::svd(core, /*full_matrices=*/false, c10::nullopt);
    return {sv, qb.matmul(u)};
}

double ChannelStatistics::effective_rank(const torch::Tensor& singular_values) {
    auto s = singular_values.to(torch::kFloat64);
    const double total = s.sum().item<double>();
    if (!(total > 0)) return 0.0;
    auto p = s / total;
    auto nz = p.masked_select(p > 0);
    return std::exp(-(nz * nz.log()).sum().item<double>());
}

double ChannelStatistics::subspace_drift(const torch::Tensor& U0, const torch::Tensor& U1) {
    if (!U0.defined() || !U1.defined() || U0.size(1) == 0 || U1.size(1) == 0) return 0.0;
    const int64_t k = std::min(U0.size(1), U1.size(1));
    auto overlap = U0.narrow(1, 0, k).t().matmul(U1.narrow(1, 0, k));  // [k, k], cosines of the principal angles
    const double cos2 = overlap.pow(2).sum().item<double>() / static_cast<double>(k);
    return std::clamp(1.0 - cos2, 0.0, 1.0);
}

StatsSample ChannelStatistics::collect(int64_t step,
                                              const std::vector<std::pair<std::string, model::Linear>>& linears) {
    torch::NoGradGuard no_grad;
    StatsSample sample;
    sample.step = step;
    for (const auto& [name, lin] : linears) {
        if (!lin->has_adapter()) continue;
        adapters::LoraAdapter adapter = adapters::lora_of(*lin);  // a handle: the stats reset its keep counters
        const double s = adapter->options().scaling();
        ModuleStats m;
        m.module = name;

        int64_t samples = 0;
        auto kept = adapter->take_keep_counts(&samples);
        m.keep_fraction = to_vector(samples > 0 ? kept / static_cast<double>(samples) : torch::ones_like(kept));

        auto B = adapter->effective_B().to(torch::kFloat64);   // [out, r]
        auto A = adapter->lora_A.detach().to(torch::kFloat64);  // [r, in]
        m.energy = to_vector(B.norm(2, {0}) * A.norm(2, {1}) * s);

        auto gA = adapter->lora_A.grad();
        auto gB = adapter->lora_B.grad();
        if (gA.defined() && gB.defined())
            m.grad_norm = to_vector((gA.to(torch::kFloat64).pow(2).sum(1) + gB.to(torch::kFloat64).pow(2).sum(0)).sqrt());
        else
            m.grad_norm.assign(static_cast<size_t>(adapter->options().rank), 0.0);

        const Spectrum spec = spectrum(B, A, s);
        m.singular_values = to_vector(spec.singular_values);
        m.effective_rank = effective_rank(spec.singular_values);
        auto basis = significant_basis(spec);
        History& h = history_[name];
        if (basis.defined() && basis.size(1) > 0) {
            m.drift_prev = subspace_drift(h.prev, basis);
            m.drift_first = subspace_drift(h.first, basis);
            if (!h.first.defined()) h.first = basis;
            h.prev = basis;
        }
        sample.modules.push_back(std::move(m));
    }
    return sample;
}

}  // namespace droplora::analysis
