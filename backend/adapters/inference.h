// Loading a model to answer with: eval, generate, the workbench's preview and
// its held-out scoring all load through here, so they agree on the device and
// dtype and on how an adapter is read. The dtype follows training's rule
// (model::resolve_precision): `auto` is bf16 weights on CUDA and on a CPU that
// multiplies bf16 natively, fp32 elsewhere; `fp32` is what the reference tests use.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "data/tokenizer.h"
#include "model/llama.h"

namespace droplora::adapters {

struct InferenceModel {
    std::string model_dir;
    std::shared_ptr<data::Tokenizer> tokenizer;
    model::LlamaModel net{nullptr};  // in eval mode
    c10::Device device = c10::Device(c10::kCPU);
    c10::ScalarType dtype = c10::kFloat;
};

// The model in `model_dir` on `device` ("auto", "cpu", "cuda", "cuda:1"; `where`
// names the setting in errors), with the PEFT adapter in `adapter_dir` attached
// when it is not empty (read by adapters/peft.h's one reader).
// `precision` is auto|fp32|bf16 (`precision_where` names that setting in errors).
InferenceModel load_for_inference(const std::string& model_dir, const std::string& device,
                                  const std::string& adapter_dir = "", const std::string& where = "--device",
                                  const std::string& precision = "auto",
                                  const std::string& precision_where = "--precision");

// One loaded base model kept between calls (the workbench's previews and
// scores reuse it; adapters come and go on it). Owned by its user — no
// process-wide state — and freed by release() or its destructor. Every use of
// the model goes through with(), which serialises the callers.
class InferenceCache {
public:
    // Runs fn(model) with the base model of `model_dir` (loaded on a miss; a
    // different folder replaces the cached model). Returns what fn returns.
    template <typename Fn>
    auto with(const std::string& model_dir, Fn&& fn) {
        std::lock_guard<std::mutex> lock(mutex_);
        return fn(get(model_dir));
    }
    void release();

private:
    InferenceModel& get(const std::string& model_dir);  // caller holds mutex_
    std::mutex mutex_;
    InferenceModel model_;
};

}  // namespace droplora::adapters
