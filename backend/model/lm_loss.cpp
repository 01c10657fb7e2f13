#include "model/lm_loss.h"

#include <torch/autograd.h>
#include <torch/torch.h>

namespace droplora::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// rows h [N, H] with their labels y [N] (all counted) → Σ CE, with d/dh and d/dW
// computed chunk by chunk in the forward pass and scaled by the incoming
// gradient in the backward pass.
class LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
public:
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& weight,
                                 const torch::Tensor& labels, int64_t chunk_rows) {
        const bool grad_h = h.requires_grad(), grad_w = weight.requires_grad();
        const int64_t N = h.size(0);
        torch::Tensor loss = torch::zeros({}, h.options().dtype(torch::kFloat32));
        torch::Tensor dh = grad_h ? torch::empty_like(h) : torch::Tensor();
        torch::Tensor dw = grad_w ? torch::zeros(weight.sizes(), weight.options().dtype(torch::kFloat32)) : torch::Tensor();
        const torch::Tensor w = weight.detach();
        for (int64_t start = 0; start < N; start += chunk_rows) {
            const int64_t n = std::min(chunk_rows, N - start);
            const torch::Tensor hc = h.detach().narrow(0, start, n);        // [n, H]
            const torch::Tensor yc = labels.narrow(0, start, n).unsqueeze(1);  // [n, 1]
            // log-softmax in one fused pass over the fp32 logits [n, V]
            torch::Tensor logp = torch::log_softmax(torch::matmul(hc, w.t()).to(torch::kFloat32), 1);
            loss -= logp.gather(1, yc).sum();
            if (!grad_h && !grad_w) continue;
            // softmax − onehot, in place.
            logp.exp_();
            logp.scatter_add_(1, yc, torch::full({n, 1}, -1.0f, logp.options()));
            const torch::Tensor dlogits = logp.to(w.scalar_type());
            if (grad_h) dh.narrow(0, start, n).copy_(torch::matmul(dlogits, w));
            if (grad_w) dw.add_(torch::matmul(dlogits.t(), hc).to(torch::kFloat32));
        }
        ctx->save_for_backward({dh, dw});
        ctx->saved_data["w_dtype"] = static_cast<int64_t>(weight.scalar_type());
        return loss;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor g = grad_outputs[0];  // 0-dim fp32
        torch::Tensor dh = saved[0].defined() ? saved[0] * g.to(saved[0].scalar_type()) : torch::Tensor();
        torch::Tensor dw;
        if (saved[1].defined())
            dw = (saved[1] * g).to(static_cast<c10::ScalarType>(ctx->saved_data["w_dtype"].toInt()));
        return {dh, dw, torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor causal_lm_loss_sum_from_hidden(const torch::Tensor& hidden, const torch::Tensor& weight,
                                             const torch::Tensor& labels, int64_t chunk_rows) {
    const int64_t H = hidden.size(-1), V = weight.size(0);
    // Position t predicts token t+1.
    const torch::Tensor h = hidden.narrow(1, 0, hidden.size(1) - 1).reshape({-1, H});            // [B·(T−1), H]
    const torch::Tensor y = labels.narrow(1, 1, labels.size(1) - 1).reshape({-1}).to(hidden.device());  // [B·(T−1)]
    const torch::Tensor counted = (y != -100).nonzero().squeeze(1);
    if (counted.numel() == 0) return (hidden.sum() * 0.0).to(torch::kFloat32);  // keeps the graph: zero gradients
    const torch::Tensor rows = h.index_select(0, counted);
    const torch::Tensor targets = y.index_select(0, counted);
    if (chunk_rows <= 0) chunk_rows = std::max<int64_t>(1, kLossChunkElements / std::max<int64_t>(1, V));
    return LinearCrossEntropy::apply(rows, weight, targets, chunk_rows);
}

}  // namespace droplora::model
