// droplora bench: training throughput and memory, the source of every speed
// figure in the README. Each configuration runs warm-up steps, then timed
// optimizer steps (forward + backward + AdamW) on random token batches; the
// statistics, when on, are collected at their cadence inside the timed loop.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adapters/lora_adapter.h"
#include "analysis/channel_stats.h"
#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "model/loader.h"
#include "train/resources.h"

namespace droplora::app {

namespace {

model::LlamaConfig preset(const std::string& name) {
    model::LlamaConfig c;
    c.rms_norm_eps = 1e-5;
    if (name == "tiny") {  // a few million parameters: seconds on a laptop CPU
        c.vocab_size = 4096, c.hidden_size = 256, c.intermediate_size = 688, c.num_hidden_layers = 4;
        c.num_attention_heads = 8, c.num_key_value_heads = 4, c.max_position_embeddings = 1024;
    } else if (name == "small") {  // ~110M, GPT-2-small-sized LLaMA
        c.vocab_size = 32000, c.hidden_size = 768, c.intermediate_size = 2048, c.num_hidden_layers = 12;
        c.num_attention_heads = 12, c.num_key_value_heads = 12, c.max_position_embeddings = 2048;
    } else if (name == "1b") {  // TinyLlama-1.1B's shape
        c.vocab_size = 32000, c.hidden_size = 2048, c.intermediate_size = 5632, c.num_hidden_layers = 22;
        c.num_attention_heads = 32, c.num_key_value_heads = 4, c.max_position_embeddings = 2048;
    } else if (name == "7b") {  // Llama-2-7B's shape
        c.vocab_size = 32000, c.hidden_size = 4096, c.intermediate_size = 11008, c.num_hidden_layers = 32;
        c.num_attention_heads = 32, c.num_key_value_heads = 32, c.max_position_embeddings = 4096;
    } else {
        fail("--preset", "'" + name + "' is not tiny, small, 1b or 7b");
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
    return c;
}

struct Variant {
    std::string name;
    double drop_rate;
    adapters::MaskMode mask;
    bool stats;
    std::vector<double> seconds_per_step;  // one per round, statistics included
    double collect_seconds = 0;            // all rounds: time inside ChannelStatistics::collect
    int64_t collections = 0;
};

struct BenchShape {
    int64_t batch, seq, steps, warmup, rank, stats_every;
    c10::Device device;
};

// One round of one variant: fresh adapters on the projections, warm-up steps,
// then `steps` timed optimizer steps. Appends the seconds per timed step to
// v.seconds_per_step and the time spent collecting statistics to v.collect_seconds.
void time_variant(model::LlamaModel& net, Variant& v, const BenchShape& b) {
    adapters::LoraOptions o;
    o.rank = b.rank;
    o.alpha = 2.0 * b.rank;
    o.drop_rate = v.drop_rate;
    o.mask = v.mask;
    std::vector<torch::Tensor> params_list;
    torch::manual_seed(1);
    for (auto& [name, lin] : net->named_linears()) {
        lin->remove_adapter();
        const std::string kind = name.substr(name.rfind('.') + 1);
        if (kind == "o_proj" || kind == "gate_proj") continue;
        auto ad = adapters::attach_lora(*lin, o);
        for (auto& p : ad->parameters()) params_list.push_back(p);
    }
    net->train();
    torch::optim::AdamW opt(params_list, torch::optim::AdamWOptions(1e-4));
    analysis::ChannelStatistics stats;
    const auto vocab = net->config().vocab_size;
    auto ids = torch::randint(0, vocab, {b.batch, b.seq}, torch::TensorOptions().dtype(torch::kInt64)).to(b.device);
    auto adapted = net->named_linears();
    double seconds = 0;
    for (int64_t i = 0; i < b.warmup + b.steps; ++i) {
        if (b.device.is_cuda()) torch::cuda::synchronize();
        const auto t0 = std::chrono::steady_clock::now();
        for (auto& [n, lin] : adapted)
            if (lin->has_adapter()) adapters::lora_of(*lin)->resample_step_mask();
        opt.zero_grad();
        auto loss = model::causal_lm_loss_sum(net->forward(ids), ids) / static_cast<double>(b.batch * (b.seq - 1));
        loss.backward();
        torch::nn::utils::clip_grad_norm_(params_list, 1.0);
        opt.step();
        if (v.stats && (i + 1) % b.stats_every == 0) {
            const auto c0 = std::chrono::steady_clock::now();
            stats.collect(i + 1, adapted);
            if (i >= b.warmup) {
                v.collect_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
                ++v.collections;
            }
        }
        (void)loss.item<double>();  // the trainer reads the loss every step too
        if (b.device.is_cuda()) torch::cuda::synchronize();
        if (i >= b.warmup) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    v.seconds_per_step.push_back(seconds / static_cast<double>(b.steps));
}

double median(std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    const size_t n = xs.size();
    return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

}  // namespace

int run_bench(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora bench [--model DIR | --preset tiny|small|1b|7b] [--seq N] [--batch N]\n"
                     "                     [--steps N] [--warmup N] [--rounds N] [--rank R] [--stats-every N]\n"
                     "                     [--device D] [--precision auto|fp32|bf16]\n"
                     "                     [--only lora|step|token|learned] [--json]\n"
                     "\n"
                     "Prints tokens/s for LoRA and DropLoRA (step, token, learned masks), each with the\n"
                     "rank-channel statistics off and on (every --stats-every steps, default 10), what the\n"
                     "statistics cost, and the memory. --rounds (default 3) rounds run every variant in turn;\n"
                     "the median round is printed, and the spread (max - min) across rounds.\n"
                     "Targets: q,k,v,up,down projections (the paper's). Weights are random for presets.\n";
        return 0;
    }
    Args args(argv,
              {"model", "preset", "seq", "batch", "steps", "warmup", "rank", "stats-every", "device", "precision",
               "only", "rounds"},
              {"json"});
    const int64_t seq = args.get_int("seq", 256), batch = args.get_int("batch", 4);
    const int64_t steps = args.get_int("steps", 10), warmup = args.get_int("warmup", 2);
    const int64_t rank = args.get_int("rank", 16), stats_every = args.get_int("stats-every", 10);
    const int64_t rounds = args.get_int("rounds", 3);
    if (seq < 2 || batch < 1 || steps < 1 || warmup < 0 || rank < 1 || stats_every < 1 || rounds < 1)
        fail("bench", "--seq ≥ 2, --batch, --steps, --rank, --stats-every, --rounds ≥ 1 and --warmup ≥ 0");

    const c10::Device device = model::resolve_device(args.get("device", "auto"), "--device");
    const c10::ScalarType dtype = model::resolve_precision(args.get("precision", "auto"), device, "--precision");
    model::LlamaModel net{nullptr};
    std::string source;
    if (args.has("model")) {
        model::LoadOptions lo;
        lo.device = device;
        lo.dtype = dtype;
        net = model::load_llama(args.get("model"), lo);
        source = args.get("model");
    } else {
        source = "preset " + args.get("preset", "tiny") + " (random weights)";
        torch::manual_seed(0);
        net = model::LlamaModel(preset(args.get("preset", "tiny")));
        torch::NoGradGuard ng;
        for (auto& [name, t] : net->hf_state())
            if (t.dim() == 2) t.normal_(0, 0.02);
        net->to(device, dtype);
    }
    const auto& cfg = net->config();
    if (seq > cfg.max_position_embeddings) fail("--seq", "exceeds the model's context");
    int64_t params = 0;
    for (auto& [n, t] : net->hf_state()) params += t.numel();
    std::cout << "bench: " << source << ", " << params / 1e6 << "M parameters, "
              << train::describe_device(device, dtype) << ", batch " << batch << " × seq " << seq << ", rank " << rank
              << ", " << steps << " timed steps\n";

    std::vector<Variant> variants;
    const std::string only = args.get("only");
    for (bool stats : {false, true}) {
        for (Variant v : {Variant{"lora", 0.0, adapters::MaskMode::None, stats, {}},
                          Variant{"droplora-step", 0.5, adapters::MaskMode::Step, stats, {}},
                          Variant{"droplora-token", 0.5, adapters::MaskMode::Token, stats, {}},
                          Variant{"droplora-learned", 0.5, adapters::MaskMode::Learned, stats, {}}})
            if (only.empty() || v.name == only || v.name == "droplora-" + only) variants.push_back(v);
    }
    // Rounds interleave the variants so that a slow spell of the machine (other
    // processes, frequency changes) lands on all of them; the median round counts.
    const BenchShape shape{batch, seq, steps, warmup, rank, stats_every, device};
    for (int64_t round = 0; round < rounds; ++round)
        for (auto& v : variants) time_variant(net, v, shape);

    const double tokens_per_step = static_cast<double>(batch * seq);
    const double mem = train::device_memory_mb(device);
    if (!args.has("json"))
        std::printf("%-18s %-6s %12s %10s %10s\n", "method", "stats", "tokens/s", "ms/step", "spread");
    for (const auto& v : variants) {
        const double sps = median(v.seconds_per_step);
        const auto [lo, hi] = std::minmax_element(v.seconds_per_step.begin(), v.seconds_per_step.end());
        const double spread = 100.0 * (*hi - *lo) / sps;
        if (args.has("json")) {
            std::cout << nlohmann::json{{"method", v.name},
                                        {"stats", v.stats},
                                        {"tokens_per_sec", tokens_per_step / sps},
                                        {"ms_per_step", 1000 * sps},
                                        {"spread_percent", spread},
                                        {"rounds", rounds},
                                        {"memory_mb", mem}}
                             .dump()
                      << "\n";
        } else {
            std::printf("%-18s %-6s %12.0f %10.1f %9.1f%%\n", v.name.c_str(), v.stats ? "on" : "off",
                        tokens_per_step / sps, 1000 * sps, spread);
        }
    }
    if (!args.has("json")) {
        // The cost of the statistics, timed directly around each collection and
        // set against the median step without them: a step-time difference
        // between the "on" and "off" rows is too noisy on a shared machine to
        // resolve a few percent.
        std::printf("statistics every %lld steps cost:", static_cast<long long>(stats_every));
        if (std::none_of(variants.begin(), variants.end(), [](const Variant& v) { return v.collections > 0; }))
            std::printf(" not measured (no collection fell in the timed steps; --steps ≥ --stats-every measures it)");
        for (const auto& on : variants) {
            if (!on.stats || on.collections == 0) continue;
            for (const auto& off : variants)
                if (!off.stats && off.name == on.name)
                    std::printf(" %s %.1f%% (%.1f ms each)", on.name.c_str(),
                                100.0 * on.collect_seconds /
                                    (static_cast<double>(on.collections * stats_every) * median(off.seconds_per_step)),
                                1000.0 * on.collect_seconds / static_cast<double>(on.collections));
        }
        std::printf("\n%s %.0f MiB\n", device.is_cuda() ? "peak allocated CUDA memory" : "resident memory", mem);
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace droplora::app
