#include "adapters/inference.h"

#include <torch/torch.h>

#include "adapters/peft.h"
#include "model/loader.h"

namespace droplora::adapters {

InferenceModel load_for_inference(const std::string& model_dir, const std::string& device,
                                  const std::string& adapter_dir, const std::string& where,
                                  const std::string& precision, const std::string& precision_where) {
    InferenceModel m;
    m.model_dir = model_dir;
    m.device = model::resolve_device(device.empty() ? "auto" : device, where);
    m.dtype = model::resolve_precision(precision.empty() ? "auto" : precision, m.device, precision_where);
    m.tokenizer = data::Tokenizer::load(model_dir);
    model::LoadOptions load;
    load.device = m.device;
    load.dtype = m.dtype;
    m.net = model::load_llama(model_dir, load);
    if (!adapter_dir.empty()) load_peft_adapter(*m.net, adapter_dir);
    m.net->eval();
    return m;
}

void InferenceCache::release() {
    std::lock_guard<std::mutex> lock(mutex_);
    model_ = InferenceModel{};
}

InferenceModel& InferenceCache::get(const std::string& model_dir) {
    if (model_.net.is_empty() || model_.model_dir != model_dir) {
        model_ = InferenceModel{};  // free the previous model before loading the next
        model_ = load_for_inference(model_dir, "auto");
    }
    return model_;
}

}  // namespace droplora::adapters
