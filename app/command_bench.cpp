// droplora bench: training throughput and memory, the source of every speed
// figure in the README. Each configuration runs warm-up steps, then timed
// optimizer steps (forward + backward + AdamW) on random token batches; the
// statistics, when on, are collected at their cadence inside the timed loop.
// With --nproc-per-node N (or torchrun's environment) each step also sums the
// adapters' gradients over the ranks, as training does (train/distributed.h),
// and rank 0 first times one process alone, for the scaling efficiency.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "adapters/lora_adapter.h"
#include "analysis/channel_stats.h"
#include "cli_args.h"
#include "commands.h"
#include "common/error.h"
#include "launch_workers.h"
#include "model/loader.h"
#include "train/distributed.h"
#include "model/lm_loss.h"
#if __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#include <torch/csrc/autograd/profiler_legacy.h>
#define DROPLORA_HAVE_LEGACY_PROFILER 1
#else
#define DROPLORA_HAVE_LEGACY_PROFILER 0
#endif
#include "train/footprint.h"
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
void time_variant(model::LlamaModel& net, Variant& v, const BenchShape& b, train::ProcessGroup* group) {
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
        if (group != nullptr && v.mask == adapters::MaskMode::Step) {
            std::vector<torch::Tensor> masks;
            for (auto& [n, lin] : adapted)
                if (lin->has_adapter()) masks.push_back(adapters::lora_of(*lin)->step_mask());
            group->broadcast(masks, "the bench's step masks");
        }
        opt.zero_grad();
        auto loss = model::causal_lm_loss_sum_from_hidden(net->hidden_states(ids, {}, nullptr), net->lm_head_weight(), ids) /
                    static_cast<double>(b.batch * (b.seq - 1));
        loss.backward();
        if (group != nullptr) {
            std::vector<torch::Tensor> grads;
            for (auto& p : params_list) grads.push_back(p.grad());
            grads.push_back(loss.detach().reshape({1}));
            group->all_reduce_sum(grads, "the bench's gradients");
        }
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

// Floating-point operations of one training token, the figure GFLOP/s divides
// by. With the base frozen, a token costs the forward matmuls (2 per weight)
// and the input gradients through them (2 more), but no weight gradients: 4·N
// for N weights in the layers' projections and the LM head (the embedding is
// a lookup). Attention adds QKᵀ and AV, 2·2·seq·head_dim per head and layer
// forward, twice that backward, counted at the causal half: 6·L·heads·seq·head_dim.
// The adapters' own matmuls (r ≪ hidden) are left out: the figure is what the
// base model's arithmetic runs at, as llm.c and PyTorch's benchmarks state it.
double flops_per_token(const model::LlamaConfig& c, int64_t seq) {
    const double h = static_cast<double>(c.hidden_size), f = static_cast<double>(c.intermediate_size);
    const double q = static_cast<double>(c.num_attention_heads * c.head_dim);
    const double kv = static_cast<double>(c.num_key_value_heads * c.head_dim);
    const double per_layer = h * q + 2 * h * kv + q * h + 3 * h * f;  // q,k,v,o + gate,up,down
    const double weights = static_cast<double>(c.num_hidden_layers) * per_layer + h * static_cast<double>(c.vocab_size);
    const double attention = 6.0 * static_cast<double>(c.num_hidden_layers * c.num_attention_heads) *
                             static_cast<double>(seq) * static_cast<double>(c.head_dim);
    return 4.0 * weights + attention;
}

struct BenchOptions {
    int64_t seq, batch, steps, warmup, rank, stats_every, rounds;
    std::string only;
    bool json;
};

BenchOptions parse_options(const Args& args) {
    BenchOptions o;
    o.seq = args.get_int("seq", 256), o.batch = args.get_int("batch", 4);
    o.steps = args.get_int("steps", 10), o.warmup = args.get_int("warmup", 2);
    o.rank = args.get_int("rank", 16), o.stats_every = args.get_int("stats-every", 10);
    o.rounds = args.get_int("rounds", 3);
    o.only = args.get("only");
    o.json = args.has("json");
    if (o.seq < 2 || o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.rank < 1 || o.stats_every < 0 || o.rounds < 1)
        fail("bench", "--seq ≥ 2, --batch, --steps, --rank, --rounds ≥ 1, --warmup ≥ 0 and --stats-every ≥ 0 "
                      "(0: no statistics rows)");
    return o;
}

// The model to time: a folder's, or a preset's shape with random weights. `source` says which.
model::LlamaModel bench_model(const Args& args, c10::Device device, c10::ScalarType dtype, std::string* source) {
    if (args.has("model")) {
        model::LoadOptions lo;
        lo.device = device;
        lo.dtype = dtype;
        *source = args.get("model");
        return model::load_llama(args.get("model"), lo);
    }
    *source = "preset " + args.get("preset", "tiny") + " (random weights)";
    torch::manual_seed(0);
    model::LlamaModel net(preset(args.get("preset", "tiny")));
    torch::NoGradGuard ng;
    for (auto& [name, t] : net->hf_state())
        if (t.dim() == 2) t.normal_(0, 0.02);
    net->to(device, dtype);
    net->fuse_projections();
    return net;
}

double median(std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    const size_t n = xs.size();
    return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

struct Figures {
    double tokens_per_step, flops_per_token, memory_mb;
    double peak_memory_mb;      // the process's peak (CPU: ru_maxrss) or CUDA's peak allocated
    train::Footprint estimate;  // train/footprint.h for the same shapes, set beside what was measured
};

void print_json(const std::vector<Variant>& variants, const BenchOptions& o, const Figures& f) {
    for (const auto& v : variants) {
        const double sps = median(v.seconds_per_step);
        const auto [lo, hi] = std::minmax_element(v.seconds_per_step.begin(), v.seconds_per_step.end());
        std::cout << nlohmann::json{{"method", v.name},
                                    {"stats", v.stats},
                                    {"tokens_per_sec", f.tokens_per_step / sps},
                                    {"gflops_per_sec", f.tokens_per_step * f.flops_per_token / sps / 1e9},
                                    {"ms_per_step", 1000 * sps},
                                    {"spread_percent", 100.0 * (*hi - *lo) / sps},
                                    {"rounds", o.rounds},
                                    {"memory_mb", f.memory_mb},
                                    {"peak_memory_mb", f.peak_memory_mb},
                                    {"estimated_peak_mb", f.estimate.peak_mib}}
                         .dump()
                  << "\n";
    }
}

void print_table(const std::vector<Variant>& variants, const BenchOptions& o, const Figures& f, bool cuda) {
    std::printf("%-18s %-6s %12s %10s %10s %10s\n", "method", "stats", "tokens/s", "GFLOP/s", "ms/step", "spread");
    for (const auto& v : variants) {
        const double sps = median(v.seconds_per_step);
        const auto [lo, hi] = std::minmax_element(v.seconds_per_step.begin(), v.seconds_per_step.end());
        std::printf("%-18s %-6s %12.0f %10.1f %10.1f %9.1f%%\n", v.name.c_str(), v.stats ? "on" : "off",
                    f.tokens_per_step / sps, f.tokens_per_step * f.flops_per_token / sps / 1e9, 1000 * sps,
                    100.0 * (*hi - *lo) / sps);
    }
    // The cost of the statistics, timed directly around each collection and
    // set against the median step without them: a step-time difference
    // between the "on" and "off" rows is too noisy on a shared machine to
    // resolve a few percent.
    if (o.stats_every == 0) std::printf("statistics: not timed (--stats-every 0)");
    else std::printf("statistics every %lld steps cost:", static_cast<long long>(o.stats_every));
    if (o.stats_every > 0 && std::none_of(variants.begin(), variants.end(), [](const Variant& v) { return v.collections > 0; }))
        std::printf(" not measured (no collection fell in the timed steps; --steps ≥ --stats-every measures it)");
    for (const auto& on : variants) {
        if (!on.stats || on.collections == 0) continue;
        for (const auto& off : variants)
            if (!off.stats && off.name == on.name)
                std::printf(" %s %.1f%% (%.1f ms each)", on.name.c_str(),
                            100.0 * on.collect_seconds /
                                (static_cast<double>(on.collections * o.stats_every) * median(off.seconds_per_step)),
                            1000.0 * on.collect_seconds / static_cast<double>(on.collections));
    }
    std::printf("\nGFLOP/s: %.2f GFLOP per token (4 per base weight: forward and input gradients; attention "
                "at the causal half)\n%s %.0f MiB (peak %.0f); estimated peak %.0f MiB (weights %.0f, adapters and AdamW %.0f, "
                "activations %.0f, logits %.0f, runtime %.0f; train/footprint.h)\n",
                f.flops_per_token / 1e9, cuda ? "peak allocated CUDA memory" : "resident memory", f.memory_mb,
                f.peak_memory_mb, f.estimate.peak_mib, f.estimate.weights_mib, f.estimate.training_mib, f.estimate.activations_mib,
                f.estimate.logits_mib, f.estimate.runtime_mib);
}

// Two steps of `v` (fresh adapters, after one untimed warm-up step outside the
// trace, so first-touch page faults stay out of it) under LibTorch's profiler, as a
// Chrome trace: every ATen op with its thread, start and duration.
// packaging/bench/profile_summary.py tables the ops by their own time.
void write_profile(model::LlamaModel& net, Variant v, BenchShape shape, const std::string& path) {
#if DROPLORA_HAVE_LEGACY_PROFILER
    shape.warmup = 0;
    shape.steps = 1;
    time_variant(net, v, shape, nullptr);
    shape.steps = 2;
    {
        torch::autograd::profiler::RecordProfile guard(path);
        time_variant(net, v, shape, nullptr);
    }
    std::printf("profile of two %s steps written to %s\n", v.name.c_str(), path.c_str());
#else
    (void)net, (void)v, (void)shape;
    fail("--profile", "this LibTorch has no legacy profiler (torch/csrc/autograd/profiler_legacy.h); " + path + " not written");
#endif
}

// Data-parallel figures: per variant, one process alone, then N processes (each its own batch).
// Scaling efficiency = total tokens/s ÷ (one process's × GPUs used): on the CPU the processes share
// the cores one process had, so 1.0 there means no loss to the reduction and the splitting.
void print_scaling(const std::vector<Variant>& alone, const std::vector<Variant>& together, const BenchOptions& o,
                   const Figures& f, int processes, bool cuda) {
    const double devices = cuda ? processes : 1;
    if (!o.json)
        std::printf("%-18s %-6s %14s %14s %14s %10s\n", "method", "stats", "1 proc tok/s", "per proc tok/s",
                    (std::to_string(processes) + " procs tok/s").c_str(), "efficiency");
    for (size_t i = 0; i < together.size(); ++i) {
        const double one = f.tokens_per_step / median(alone[i].seconds_per_step);
        const double per = f.tokens_per_step / median(together[i].seconds_per_step);
        const double total = per * processes;
        if (o.json) {
            std::cout << nlohmann::json{{"method", together[i].name},
                                        {"stats", together[i].stats},
                                        {"processes", processes},
                                        {"one_process_tokens_per_sec", one},
                                        {"tokens_per_sec_per_process", per},
                                        {"tokens_per_sec", total},
                                        {"scaling_efficiency", total / (one * devices)},
                                        {"rounds", o.rounds}}
                             .dump()
                      << "\n";
        } else {
            std::printf("%-18s %-6s %14.0f %14.0f %14.0f %9.2f\n", together[i].name.c_str(),
                        together[i].stats ? "on" : "off", one, per, total, total / (one * devices));
        }
    }
    if (!o.json)
        std::printf("efficiency: %d processes' tokens/s over one process's%s\n", processes,
                    cuda ? " times the GPUs" : " (on the CPU they share its cores: 1.0 is the ideal)");
}

}  // namespace

int run_bench(const CommandArgs& argv) {
    if (wants_help(argv)) {
        std::cout << "usage: droplora bench [--model DIR | --preset tiny|small|1b|7b] [--seq N] [--batch N]\n"
                     "                     [--steps N] [--warmup N] [--rounds N] [--rank R] [--stats-every N]\n"
                     "                     [--device D] [--precision auto|fp32|bf16]\n"
                     "                     [--only lora|step|token|learned] [--json] [--print-config] [--profile FILE]\n"
                     "\n"
                     "Prints tokens/s for LoRA and DropLoRA (step, token, learned masks), each with the\n"
                     "rank-channel statistics off and on (every --stats-every steps, default 10), what the\n"
                     "statistics cost, and the memory. --rounds (default 3) rounds run every variant in turn;\n"
                     "the median round is printed, and the spread (max - min) across rounds.\n"
                     "Targets: q,k,v,up,down projections (the paper's). Weights are random for presets.\n"
                     "--nproc-per-node N: N data-parallel processes (gradients summed each step, as in\n"
                     "training), after one process alone; prints tokens/s per process, in total, and the\n"
                     "scaling efficiency (docs/distributed.md).\n"
                     "--print-config: the preset's shape as a config.json (for packaging/bench/peer_eager.py).\n"
                     "--profile FILE: two steps of the first variant under LibTorch's profiler, as a Chrome\n"
                     "trace (packaging/bench/profile_summary.py FILE tables the ops by their own time).\n";
        return 0;
    }
    Args args(argv,
              {"model", "preset", "seq", "batch", "steps", "warmup", "rank", "stats-every", "device", "precision",
               "only", "rounds", "nproc-per-node", "profile"},
              {"json", "print-config"});
    if (args.has("print-config")) {  // the preset's shape as a config.json, for peers (packaging/bench/)
        if (args.has("model")) fail("--print-config", "prints a preset's config.json; a --model folder has its own");
        std::cout << preset(args.get("preset", "tiny")).to_json().dump(2) << "\n";
        return 0;
    }
    if (args.has("nproc-per-node")) {
        const long long n = args.get_int("nproc-per-node", 1);
        if (n < 1 || n > 256) fail("--nproc-per-node", std::to_string(n) + " is not a process count in [1, 256]");
        if (n > 1) return launch_local_workers("bench", static_cast<int>(n), strip_nproc_per_node(argv));
    }
    const BenchOptions o = parse_options(args);
    train::keep_freed_memory();  // as training does (train/session.cpp)
    const train::World world = train::world_from_environment();
    const std::string device_name = train::device_for_rank(world, args.get("device", "auto"));
    const c10::Device device = model::resolve_device(device_name, "--device");
    std::unique_ptr<train::ProcessGroup> group;
    if (world.distributed())  // generous: the others wait while rank 0 times one process alone
        group = std::make_unique<train::ProcessGroup>(world, "auto", device_name, std::chrono::seconds(3600));
    const bool report = world.rank == 0;
    const c10::ScalarType dtype = model::resolve_precision(args.get("precision", "auto"), device, "--precision");
    std::string source;
    model::LlamaModel net = bench_model(args, device, dtype, &source);
    const auto& cfg = net->config();
    if (o.seq > cfg.max_position_embeddings) fail("--seq", "exceeds the model's context");
    int64_t params = 0;
    for (auto& [n, t] : net->hf_state()) params += t.numel();
    if (report)
        std::cout << "bench: " << source << ", " << params / 1e6 << "M parameters, "
              << train::describe_device(device, dtype) << ", batch " << o.batch << " × seq " << o.seq << ", rank "
              << o.rank << ", " << o.steps << " timed steps"
              << (world.distributed() ? ", " + std::to_string(world.size) + " processes (" + group->backend() + ")" : "")
              << "\n";

    std::vector<Variant> variants;
    for (bool stats : {false, true}) {
        if (stats && o.stats_every == 0) continue;  // --stats-every 0: the variants without statistics only
        for (Variant v : {Variant{"lora", 0.0, adapters::MaskMode::None, stats, {}},
                          Variant{"droplora-step", 0.5, adapters::MaskMode::Step, stats, {}},
                          Variant{"droplora-token", 0.5, adapters::MaskMode::Token, stats, {}},
                          Variant{"droplora-learned", 0.5, adapters::MaskMode::Learned, stats, {}}})
            if (o.only.empty() || v.name == o.only || v.name == "droplora-" + o.only) variants.push_back(v);
    }
    // Rounds interleave the variants so that a slow spell of the machine (other
    // processes, frequency changes) lands on all of them; the median round counts.
    const BenchShape shape{o.batch, o.seq, o.steps, o.warmup, o.rank, o.stats_every, device};
    std::vector<Variant> alone = variants;
    if (group) {
        // One process alone first, with every core the processes share on the CPU; the others wait.
        if (world.rank == 0) {
            const int shared = at::get_num_threads();
            if (!device.is_cuda()) at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
            for (int64_t round = 0; round < o.rounds; ++round)
                for (auto& v : alone) time_variant(net, v, shape, nullptr);
            at::set_num_threads(shared);
        }
        group->all_reduce_sum({torch::zeros({1})}, "the end of the one-process baseline");
    }
    // One untimed round of every variant first: the first steps of a process (page
    // faults of fresh buffers, oneDNN's primitive caches, the BLAS threads waking up)
    // would otherwise land on whichever variant runs first.
    for (auto& v : variants) {
        time_variant(net, v, shape, group.get());
        v.seconds_per_step.clear();
        v.collect_seconds = 0;
        v.collections = 0;
    }
    for (int64_t round = 0; round < o.rounds; ++round)
        for (auto& v : variants) time_variant(net, v, shape, group.get());

    config::RunConfig shape_run;  // what the bench trains, as a run would say it
    shape_run.adapter.method = "droplora";
    shape_run.adapter.rank = o.rank;
    shape_run.train.batch_size = o.batch;
    if (args.has("profile") && report) write_profile(net, variants.front(), shape, args.get("profile", ""));
    const Figures figures{static_cast<double>(o.batch * o.seq), flops_per_token(cfg, o.seq),
                          train::device_memory_mb(device), train::peak_memory_mb(device),
                          train::estimate_footprint(cfg, shape_run, o.seq, device.is_cuda(), dtype == c10::kBFloat16)};
    if (!report) return 0;
    if (group) print_scaling(alone, variants, o, figures, world.size, device.is_cuda());
    else if (o.json) print_json(variants, o, figures);
    else print_table(variants, o, figures, device.is_cuda());
    std::fflush(stdout);
    return 0;
}

}  // namespace droplora::app
