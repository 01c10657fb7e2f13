#include "config/run_presets.h"

namespace droplora::config {

namespace {

void quick_look(RunConfig& c) {
    // A minute or two on a CPU: does the data load, does the loss fall, do the plots move.
    c.train.max_steps = 60;
    c.train.epochs = 0;
    c.train.warmup_steps = 5;
    c.train.eval_every = 20;
    c.train.save_every = 30;
    c.train.stats_every = 5;
    c.train.log_every = 1;
}

void paper(RunConfig& c) {
    // arXiv 2508.17337's LLaMA settings: rank 32, alpha 64, half of the rank
    // channels dropped per step, adapters on q, k, v, up and down, lr 3e-4.
    c.adapter.method = "droplora";
    c.adapter.rank = 32;
    c.adapter.alpha = 64;
    c.adapter.drop_rate = 0.5;
    c.adapter.mask = "step";
    c.adapter.targets = {"q_proj", "k_proj", "v_proj", "up_proj", "down_proj"};
    c.adapter.rslora = false;
    c.train.lr = 3e-4;
    c.train.schedule = "linear";
}

void lora_baseline(RunConfig& c) {
    // The same adapter without the mask: what DropLoRA is compared with.
    c.adapter.method = "lora";
    c.adapter.drop_rate = 0.0;
}

void low_memory(RunConfig& c) {
    // The same effective batch in micro-batches of one, activations recomputed layer by layer.
    const int64_t batch = c.train.batch_size * c.train.grad_accum;
    c.train.batch_size = 1;
    c.train.grad_accum = batch;
    c.train.gradient_checkpointing = true;
}

}  // namespace

const std::vector<RunPreset>& run_presets() {
    static const std::vector<RunPreset> presets = {
        {"Quick look", "60 steps, evaluation every 20, statistics every 5: a first look in minutes", quick_look},
        {"Paper's settings", "DropLoRA r=32, α=64, p=0.5 (step mask) on q,k,v,up,down, lr 3e-4 (arXiv 2508.17337)",
         paper},
        {"LoRA baseline", "the same adapter as plain LoRA (drop rate 0), to compare against", lora_baseline},
        {"Low memory", "micro-batches of 1 with the same effective batch, and gradient checkpointing", low_memory},
    };
    return presets;
}

}  // namespace droplora::config
