#!/usr/bin/python3
"""Writes the tiny checkpoints, PEFT adapters and golden outputs under tests/data/.

Run with Debian's interpreter (python3-torch 1.13, python3-sentencepiece):
    /usr/bin/python3 tests/reference/make_fixtures.py
Deterministic: every random tensor comes from a torch.Generator with a fixed
seed. The goldens are computed from the files as written (read back from disk),
so a BF16/F16 model is scored in fp32 from its rounded weights. The sanity and
sensitivity checks in reference_checks.py run at the end and abort on failure.
See tests/reference/README.md for what each fixture is.
"""
import json
import math
import os
import shutil
import sys

import sentencepiece
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_llama_reference as ref  # noqa: E402
import reference_checks  # noqa: E402
import safetensors_io as st  # noqa: E402

DATA = os.path.normpath(os.path.join(HERE, "..", "data"))
TOKENIZER = os.path.join(DATA, "tokenizer", "tokenizer.model")
SAMPLE = os.path.join(DATA, "texts", "sample.txt")
LONG = os.path.join(DATA, "texts", "long.txt")

STORAGE = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# Projections are drawn with std gain/sqrt(fan_in) rather than a flat 0.02: with 0.02 the attention
# scores are ~1e-3, softmax is uniform, and even removing RoPE moves the logits by only ~2e-4 — below
# the tests' tolerance. Fan-in scaling keeps activations O(1) so every part of the math shows.
MODELS = [
    dict(name="tiny-llama-gqa", seed=101, arch="LlamaForCausalLM", model_type="llama", dtype="float32",
         hidden=64, inter=176, layers=2, heads=8, kv=2, head_dim=8, explicit_head_dim=True, tied=False,
         theta=10000.0, rope_scaling=None, max_pos=128, shards=1, version="4.46.3"),
    dict(name="tiny-llama-tied", seed=202, arch="LlamaForCausalLM", model_type="llama", dtype="bfloat16",
         hidden=96, inter=192, layers=2, heads=4, kv=4, head_dim=32, explicit_head_dim=True, tied=True,
         theta=10000.0, rope_scaling={"factor": 2.0, "rope_type": "linear"}, max_pos=128, shards=2,
         version="4.46.3"),
    dict(name="tiny-llama3", seed=303, arch="LlamaForCausalLM", model_type="llama", dtype="float16",
         hidden=96, inter=192, layers=2, heads=4, kv=1, head_dim=24, explicit_head_dim=False, tied=False,
         theta=500000.0, rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                        "original_max_position_embeddings": 32, "rope_type": "llama3"},
         max_pos=256, shards=1, version="4.43.3"),
    dict(name="tiny-mistral", seed=404, arch="MistralForCausalLM", model_type="mistral", dtype="float32",
         hidden=64, inter=176, layers=2, heads=4, kv=2, head_dim=16, explicit_head_dim=False, tied=False,
         theta=10000.0, rope_scaling=None, max_pos=128, shards=1, version="4.41.2", sliding_window=4096),
    # Qwen2.5-shaped: q/k/v biases (no o bias), tied head, θ 1e6. Its sliding_window (16) is shorter than the
    # golden sequence but use_sliding_window is false, so full attention is right (a trap for an engine
    # that applies the key regardless).
    dict(name="tiny-qwen2", seed=505, arch="Qwen2ForCausalLM", model_type="qwen2", dtype="bfloat16",
         hidden=64, inter=128, layers=2, heads=4, kv=2, head_dim=16, explicit_head_dim=False, tied=True,
         theta=1000000.0, rope_scaling=None, max_pos=128, shards=1, version="4.43.1",
         extra={"max_window_layers": 1, "sliding_window": 16, "use_sliding_window": False}),
    # Qwen3-shaped: per-head q_norm/k_norm, head_dim 32 != 48/4, no biases, tied head, written the way
    # newer transformers write config.json ("dtype" instead of "torch_dtype", "layer_types").
    dict(name="tiny-qwen3", seed=606, arch="Qwen3ForCausalLM", model_type="qwen3", dtype="float32",
         hidden=48, inter=96, layers=2, heads=4, kv=2, head_dim=32, explicit_head_dim=True, tied=True,
         theta=1000000.0, rope_scaling=None, max_pos=128, shards=1, version="4.56.1",
         extra={"attention_bias": False, "max_window_layers": 2, "sliding_window": None,
                "use_sliding_window": False, "layer_types": ["full_attention", "full_attention"]}),
    # Llama-3.2-shaped: tied head, llama3 rope (x32, original ctx 32 so that head_dim 24 has one frequency in
    # each band), explicit head_dim 24 != 64/4, eos as a list (as Llama 3.x instruct configs write it).
    dict(name="tiny-llama32", seed=707, arch="LlamaForCausalLM", model_type="llama", dtype="bfloat16",
         hidden=64, inter=128, layers=2, heads=4, kv=2, head_dim=24, explicit_head_dim=True, tied=True,
         theta=500000.0, rope_scaling={"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                        "original_max_position_embeddings": 32, "rope_type": "llama3"},
         max_pos=128, shards=1, version="4.45.0", extra={"eos_token_id": [2, 5]}),
    # Mistral with a sliding window (6) shorter than the golden sequence (24) and the eval windows (128).
    dict(name="tiny-mistral-swa", seed=808, arch="MistralForCausalLM", model_type="mistral", dtype="bfloat16",
         hidden=64, inter=128, layers=2, heads=4, kv=2, head_dim=16, explicit_head_dim=False, tied=False,
         theta=10000.0, rope_scaling=None, max_pos=128, shards=1, version="4.46.3", sliding_window=6),
]

ADAPTER_TARGETS_ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def config_json(m):
    """config.json the way transformers' save_pretrained writes it (sorted keys, model-specific keys always)."""
    c = {
        "architectures": [m["arch"]], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": m["hidden"], "initializer_range": 0.02,
        "intermediate_size": m["inter"], "max_position_embeddings": m["max_pos"], "model_type": m["model_type"],
        "num_attention_heads": m["heads"], "num_hidden_layers": m["layers"], "num_key_value_heads": m["kv"],
        "rms_norm_eps": 1e-05, "rope_theta": m["theta"], "tie_word_embeddings": m["tied"],
        "torch_dtype": m["dtype"], "transformers_version": m["version"], "use_cache": True, "vocab_size": 1000,
    }
    if m["model_type"] == "llama":
        c.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1, "rope_scaling": m["rope_scaling"]})
    if "sliding_window" in m:
        c["sliding_window"] = m["sliding_window"]
    if m["model_type"] in ("qwen2", "qwen3"):
        c["rope_scaling"] = m["rope_scaling"]
    if m["explicit_head_dim"]:
        c["head_dim"] = m["head_dim"]
    c.update(m.get("extra", {}))
    if m["version"] >= "4.56":  # newer transformers write "dtype"
        c["dtype"] = c.pop("torch_dtype")
    return c


def tensor_shapes(m):
    """Tensor name -> shape per docs/formats.md §1, in a fixed generation order."""
    H, d = m["hidden"], m["head_dim"]
    shapes = {"model.embed_tokens.weight": (1000, H)}
    for i in range(m["layers"]):
        p = f"model.layers.{i}."
        shapes.update({
            p + "self_attn.q_proj.weight": (m["heads"] * d, H), p + "self_attn.k_proj.weight": (m["kv"] * d, H),
            p + "self_attn.v_proj.weight": (m["kv"] * d, H), p + "self_attn.o_proj.weight": (H, m["heads"] * d),
        })
        if m["model_type"] == "qwen2":  # q/k/v biases, o has none
            shapes.update({p + "self_attn.q_proj.bias": (m["heads"] * d,), p + "self_attn.k_proj.bias": (m["kv"] * d,),
                           p + "self_attn.v_proj.bias": (m["kv"] * d,)})
        if m["model_type"] == "qwen3":  # per-head RMSNorm weights over head_dim
            shapes.update({p + "self_attn.q_norm.weight": (d,), p + "self_attn.k_norm.weight": (d,)})
        shapes.update({
            p + "mlp.gate_proj.weight": (m["inter"], H), p + "mlp.up_proj.weight": (m["inter"], H),
            p + "mlp.down_proj.weight": (H, m["inter"]),
            p + "input_layernorm.weight": (H,), p + "post_attention_layernorm.weight": (H,),
        })
    shapes["model.norm.weight"] = (H,)
    if not m["tied"]:
        shapes["lm_head.weight"] = (1000, H)
    return shapes


def random_weights(m):
    g = torch.Generator().manual_seed(m["seed"])
    out = {}
    for name, shape in tensor_shapes(m).items():
        if name.endswith(".bias"):  # large enough that dropping a bias shows (Qwen's k biases are large too)
            t = 0.5 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # norm weights away from 1 so that forgetting them shows
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name == "model.embed_tokens.weight":
            t = torch.randn(shape, generator=g) * (0.25 if m["tied"] else 0.5)  # tied: also the output head
        elif name == "lm_head.weight":
            t = torch.randn(shape, generator=g) * (2.0 / math.sqrt(shape[1]))  # logits std ~2
        else:
            t = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        out[name] = t.to(STORAGE[m["dtype"]])
    return out


def write_model(m):
    folder = os.path.join(DATA, "models", m["name"])
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "golden"))
    weights = random_weights(m)
    write_json(os.path.join(folder, "config.json"), config_json(m))
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "pad_token": None, "legacy": True, "tokenizer_class": "LlamaTokenizer",
        "model_max_length": m["max_pos"], "clean_up_tokenization_spaces": False})
    shutil.copy(TOKENIZER, os.path.join(folder, "tokenizer.model"))
    if m["shards"] == 1:
        st.save(weights, os.path.join(folder, "model.safetensors"))
    else:
        # Shard 1: embeddings + first half of the layers; shard 2: the rest (a layer never straddles files).
        n = m["shards"]
        split = m["layers"] // 2
        files = [f"model-{k + 1:05d}-of-{n:05d}.safetensors" for k in range(n)]
        weight_map = {}
        for name in weights:
            first = name.startswith("model.embed_tokens") or any(
                name.startswith(f"model.layers.{i}.") for i in range(split))
            weight_map[name] = files[0] if first else files[1]
        for f in files:
            st.save({k: v for k, v in weights.items() if weight_map[k] == f}, os.path.join(folder, f))
        total = sum(v.numel() * v.element_size() for v in weights.values())
        write_json(os.path.join(folder, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    return folder, weights


def load_model(folder):
    """(Config, weights as stored) read back from disk the way a loader would."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = ref.Config(json.load(f))
    index = os.path.join(folder, "model.safetensors.index.json")
    weights = {}
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for name in files:
        tensors, meta = st.load(os.path.join(folder, name))
        assert meta.get("format") == "pt"
        weights.update(tensors)
    return cfg, weights


def forward_inputs():
    """input_ids [2, 24] (bos first, then ids 3..999), attention_mask with row 1's last 7 positions padded."""
    g = torch.Generator().manual_seed(2024)
    ids = torch.randint(3, 1000, (2, 24), generator=g, dtype=torch.int64)
    ids[:, 0] = 1
    mask = torch.ones(2, 24, dtype=torch.int64)
    mask[1, 17:] = 0
    ids[1, 17:] = 2  # pad with eos, as LLaMA fine-tuning scripts do; the logits there are masked-query values
    labels = ids.masked_fill(mask == 0, ref.IGNORE_INDEX)
    return ids, mask, labels


def golden_forward(path, cfg, w32):
    ids, mask, labels = forward_inputs()
    logits = ref.forward(w32, cfg, ids, mask)
    loss = ref.causal_lm_loss(logits, labels)
    st.save({"input_ids": ids, "attention_mask": mask, "labels": labels, "logits": logits.contiguous(),
             "loss": loss.reshape(1)}, path)
    return loss.item()


def text_ids(path, sp):
    with open(path, encoding="utf-8") as f:
        return [1] + sp.encode(f.read())


def golden_eval(path, cfg, w32, ids, text_name):
    total, count, windows = ref.eval_windows(w32, cfg, ids, cfg.max_position_embeddings)
    assert count == len(ids) - 1
    loss = total / count
    write_json(path, {"text": text_name, "context": cfg.max_position_embeddings, "windows": windows,
                      "tokens": count, "loss": loss, "perplexity": math.exp(loss)})
    return loss, count, windows


def adapter_config(r, alpha, targets, rslora):
    """adapter_config.json as PEFT's save_pretrained writes it (sorted keys, docs/formats.md §4)."""
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "tiny-llama-gqa", "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
        "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": alpha,
        "lora_dropout": 0.05, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None, "target_modules": targets,
        "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": rslora,
    }


def module_path(layer, module):
    group = "mlp" if module in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    return f"model.layers.{layer}.{group}.{module}"


def write_adapter(name, seed, base_shapes, layers, r, alpha, targets, rslora, override=None):
    """A/B drawn with std 0.05 (B nonzero, unlike PEFT's init) so the adapter visibly changes the model.
    `override` (module path -> A's shape) breaks a shape; `layers` may name layers the model lacks."""
    folder = os.path.join(DATA, "adapters", name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer in layers:
        for module in targets:
            path = module_path(layer, module)
            out_f, in_f = base_shapes.get(path + ".weight", base_shapes[module_path(0, module) + ".weight"])
            a_shape = (override or {}).get(path, (r, in_f))
            tensors[ref.PEFT_PREFIX + path + ".lora_A.weight"] = torch.randn(a_shape, generator=g) * 0.05
            tensors[ref.PEFT_PREFIX + path + ".lora_B.weight"] = torch.randn((out_f, r), generator=g) * 0.05
    st.save(tensors, os.path.join(folder, "adapter_model.safetensors"))
    cfg = adapter_config(r, alpha, targets, rslora)
    write_json(os.path.join(folder, "adapter_config.json"), cfg)
    return folder, tensors, cfg


def folder_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # one summation order, whatever the machine
    sp = sentencepiece.SentencePieceProcessor(model_file=TOKENIZER)
    assert sp.vocab_size() == 1000 and sp.bos_id() == 1 and sp.eos_id() == 2
    sample_ids, long_ids = text_ids(SAMPLE, sp), text_ids(LONG, sp)
    summary, loaded = [], {}
    for m in MODELS:
        folder, written = write_model(m)
        cfg, stored = load_model(folder)
        reference_checks.check_roundtrip(m["name"], written, stored, tensor_shapes(m))
        w32 = ref.to_fp32(stored)
        loaded[m["name"]] = (cfg, w32)
        gold = os.path.join(folder, "golden")
        loss = golden_forward(os.path.join(gold, "forward.safetensors"), cfg, w32)
        ev = golden_eval(os.path.join(gold, "eval.json"), cfg, w32, sample_ids, "sample.txt")
        summary.append(f"{m['name']}: forward loss {loss:.6f}; eval sample.txt loss {ev[0]:.6f} "
                       f"over {ev[1]} tokens in {ev[2]} windows")
        if m["name"] == "tiny-llama-gqa":
            ev = golden_eval(os.path.join(gold, "eval_long.json"), cfg, w32, long_ids, "long.txt")
            summary.append(f"{m['name']}: eval long.txt loss {ev[0]:.6f} over {ev[1]} tokens in {ev[2]} windows")

    # PEFT adapters on tiny-llama-gqa.
    cfg, w32 = loaded["tiny-llama-gqa"]
    gold = os.path.join(DATA, "models", "tiny-llama-gqa", "golden")
    shapes = {k: tuple(v.shape) for k, v in w32.items()}
    adapters = {}
    for name, seed, r, alpha, targets, rslora in [("gqa-lora", 505, 8, 16, ADAPTER_TARGETS_ALL, False),
                                                  ("gqa-rslora", 606, 4, 8, ["q_proj", "v_proj"], True)]:
        folder, tensors, acfg = write_adapter(name, seed, shapes, range(cfg.num_hidden_layers), r, alpha, targets,
                                              rslora)
        tensors = st.load(os.path.join(folder, "adapter_model.safetensors"))[0]
        adapters[name] = (tensors, acfg)
        merged = ref.merge_lora(w32, tensors, acfg)
        ev = golden_eval(os.path.join(gold, f"eval_{name}.json"), cfg, merged, sample_ids, "sample.txt")
        line = f"tiny-llama-gqa + {name} (s={ref.lora_scaling(acfg):g}): eval loss {ev[0]:.6f} over {ev[1]} tokens"
        if name == "gqa-lora":
            loss = golden_forward(os.path.join(gold, f"forward_{name}.safetensors"), cfg, merged)
            line += f"; forward loss {loss:.6f}"
        summary.append(line)
    write_adapter("bad-shape", 707, shapes, range(cfg.num_hidden_layers), 8, 16, ["q_proj", "v_proj"], False,
                  override={module_path(0, "q_proj"): (8, cfg.hidden_size - 4)})
    write_adapter("bad-module", 808, shapes, [0, 7], 8, 16, ["q_proj"], False)

    print("== goldens")
    print("\n".join(summary))
    print("== sanity checks")
    for line in reference_checks.run_all(loaded, adapters, sample_ids, long_ids, forward_inputs):
        print(line)
    print("== sizes")
    for sub in ["texts", "models", "adapters"]:
        for entry in sorted(os.listdir(os.path.join(DATA, sub))):
            p = os.path.join(DATA, sub, entry)
            print(f"{sub}/{entry}: {folder_size(p) / 1024:.0f} KiB")
    total = folder_size(DATA)
    print(f"tests/data total: {total / 1024 / 1024:.2f} MiB")
    assert total < 8 * 1024 * 1024, "tests/data grew past 8 MiB"


if __name__ == "__main__":
    main()
