#include "model/activation_checkpoint.h"

#include <ATen/Context.h>
#include <torch/autograd.h>
#include <torch/torch.h>

#include "model/llama.h"

namespace droplora::model {

namespace {

thread_local bool t_recomputing = false;

at::Generator device_generator(const c10::Device& device) {
    return device.is_cuda() ? at::globalContext().defaultGenerator(device)
                            : at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
}

at::Tensor rng_state(const c10::Device& device) {
    at::Generator gen = device_generator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
}

void set_rng_state(const c10::Device& device, const at::Tensor& state) {
    at::Generator gen = device_generator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct LayerCheckpoint : public torch::autograd::Function<LayerCheckpoint> {
    static torch::Tensor forward(AutogradContext* ctx, torch::Tensor h, int64_t layer_ptr, torch::Tensor cos,
                                 torch::Tensor sin, torch::Tensor mask) {
        auto* layer = reinterpret_cast<DecoderLayerImpl*>(layer_ptr);
        ctx->saved_data["layer"] = layer_ptr;
        ctx->saved_data["rng"] = rng_state(h.device());
        if (h.device().is_cuda()) ctx->saved_data["cpu_rng"] = rng_state(c10::Device(c10::kCPU));
        ctx->saved_data["cos"] = cos;
        ctx->saved_data["sin"] = sin;
        ctx->saved_data["has_mask"] = mask.defined();
        if (mask.defined()) ctx->saved_data["mask"] = mask;
        ctx->save_for_backward({h});
        torch::NoGradGuard no_grad;
        return layer->forward(h, cos, sin, mask, nullptr, 0);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
        auto* layer = reinterpret_cast<DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
        auto h = ctx->get_saved_variables()[0].detach().requires_grad_(true);
        const auto cos = ctx->saved_data["cos"].toTensor();
        const auto sin = ctx->saved_data["sin"].toTensor();
        torch::Tensor mask;
        if (ctx->saved_data["has_mask"].toBool()) mask = ctx->saved_data["mask"].toTensor();

        // Recompute with the forward pass's random state, then put the current one back.
        const auto now = rng_state(h.device());
        set_rng_state(h.device(), ctx->saved_data["rng"].toTensor());
        at::Tensor cpu_now;
        if (h.device().is_cuda()) {
            cpu_now = rng_state(c10::Device(c10::kCPU));
            set_rng_state(c10::Device(c10::kCPU), ctx->saved_data["cpu_rng"].toTensor());
        }
        torch::Tensor out;
        {
            torch::AutoGradMode grad_on(true);
            t_recomputing = true;
            try {
                out = layer->forward(h, cos, sin, mask, nullptr, 0);
            } catch (...) {
                t_recomputing = false;
                throw;
            }
            t_recomputing = false;
        }
        set_rng_state(h.device(), now);
        if (cpu_now.defined()) set_rng_state(c10::Device(c10::kCPU), cpu_now);
        // Gradients of the layer's parameters accumulate here; h's is returned.
        torch::autograd::backward({out}, {grad_out[0]});
        return {h.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor checkpointed_layer(DecoderLayerImpl& layer, const torch::Tensor& h, const torch::Tensor& cos,
                                 const torch::Tensor& sin, const torch::Tensor& mask) {
    return LayerCheckpoint::apply(h, reinterpret_cast<int64_t>(&layer), cos, sin, mask);
}

bool recomputing_activations() { return t_recomputing; }

}  // namespace droplora::model
