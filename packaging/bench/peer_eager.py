#!/usr/bin/python3
"""The PyTorch-eager peer of `droplora bench`: what a user gets from Hugging Face
transformers + PEFT on a CPU, written out so that it runs on Debian's
python3-torch alone (no transformers, no peft, no network).

The model is LlamaForCausalLM as transformers' eager code computes it
(modeling_llama.py: RMSNorm in fp32 cast back before the weight, rotate_half
RoPE, grouped-query attention by repeat_kv, softmax in fp32, SiLU MLP, logits
cast to fp32, CrossEntropyLoss over the shifted labels), with PEFT's LoRA on the
chosen projections (lora_A and lora_B as nn.Linear without bias, dropout 0,
scaling alpha / r, B initialised to zero) and torch.optim.AdamW on the adapter
weights only. Batches are random token ids with the labels equal to them, as
the bench's. It prints one JSON line: tokens/s (median of --rounds rounds of
--steps timed steps each, after --warmup), GFLOP/s by the bench's formula, and
the peak resident memory.

    /usr/bin/python3 packaging/bench/peer_eager.py --model resources/models/demo-base \
        --seq 128 --batch 8 --rank 8

`--config-json FILE` takes a config.json without weights (random weights):
`droplora bench --preset small --print-config` writes one.
"""
import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SAFETENSORS_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def read_safetensors(path):
    """The tensors of one .safetensors file (8-byte header length, JSON header, data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=SAFETENSORS_DTYPES[spec["dtype"]])
        out[name] = t.reshape(spec["shape"])
    return out


class RMSNorm(nn.Module):
    def __init__(self, hidden, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class LoraLinear(nn.Module):
    """PEFT's lora.Linear: base(x) + lora_B(lora_A(dropout(x))) * scaling."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):
        result = self.base_layer(x)
        x = x.to(self.lora_A.weight.dtype)
        return result + (self.lora_B(self.lora_A(x)) * self.scaling).to(result.dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.heads, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or h // self.heads
        self.q_proj = nn.Linear(h, self.heads * self.d, bias=False)
        self.k_proj = nn.Linear(h, self.kv * self.d, bias=False)
        self.v_proj = nn.Linear(h, self.kv * self.d, bias=False)
        self.o_proj = nn.Linear(self.heads * self.d, h, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv
        k = k[:, :, None].expand(B, self.kv, rep, T, self.d).reshape(B, self.heads, T, self.d)
        v = v[:, :, None].expand(B, self.kv, rep, T, self.d).reshape(B, self.heads, T, self.d)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d) + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn, self.mlp = Attention(c), MLP(c)
        eps = c.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(c["hidden_size"], eps)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], eps)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c.get("rms_norm_eps", 1e-6))
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", False):
            self.lm_head.weight = self.embed_tokens.weight
        d = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, ids, labels):
        B, T = ids.shape
        h = self.embed_tokens(ids)
        angles = torch.outer(torch.arange(T, dtype=torch.float32), self.inv_freq)
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos().to(h.dtype), emb.sin().to(h.dtype)
        mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)[None, None].to(h.dtype)
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        logits = self.lm_head(self.norm(h)).float()
        shift_logits = logits[:, :-1].contiguous().view(-1, logits.shape[-1])
        return F.cross_entropy(shift_logits, labels[:, 1:].contiguous().view(-1))


def hf_name(name):
    """Our module path → the Hugging Face tensor name."""
    return name if name.startswith("lm_head") else "model." + name


def load_weights(model, folder, dtype):
    tensors = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            tensors.update(read_safetensors(os.path.join(folder, f)))
    state = {}
    for name, p in model.state_dict().items():
        key = hf_name(name)
        if key in tensors:
            state[name] = tensors[key]
        elif name == "lm_head.weight" and model.c.get("tie_word_embeddings", False):
            state[name] = tensors["model.embed_tokens.weight"]
        else:
            sys.exit(f"{folder}: no tensor {key}")
    model.load_state_dict(state)
    model.to(dtype)


def flops_per_token(c, seq):
    """The bench's formula: 4 FLOP per frozen base weight (forward and input
    gradients, no weight gradients) plus attention at the causal half."""
    h, i, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or h // heads
    per_layer = h * heads * d + 2 * h * kv * d + heads * d * h + 3 * h * i
    weights = L * per_layer + c["vocab_size"] * h
    attention = 6 * L * heads * seq * d  # QKᵀ and PV: forward and the two input gradients, the causal half
    return 4 * weights + attention


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="Hugging Face model folder (config.json + *.safetensors)")
    src.add_argument("--config-json", help="a config.json alone: random weights of that shape")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--targets", default="q_proj,k_proj,v_proj,up_proj,down_proj")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32",
                    help="the frozen weights' dtype (adapters stay fp32, as PEFT keeps them with autocast off)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg_path = os.path.join(args.model, "config.json") if args.model else args.config_json
    with open(cfg_path) as f:
        c = json.load(f)
    dtype = torch.float32 if args.dtype == "fp32" else torch.bfloat16
    model = LlamaForCausalLM(c)
    if args.model:
        load_weights(model, args.model, dtype)
    else:
        model.to(dtype)
    for p in model.parameters():
        p.requires_grad_(False)
    targets = set(args.targets.split(","))
    for layer in model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in list(parent._modules):
                if name in targets:
                    lora = LoraLinear(getattr(parent, name), args.rank, args.alpha)
                    lora.lora_A.float()
                    lora.lora_B.float()
                    setattr(parent, name, lora)
    params = [p for n, p in model.named_parameters() if "lora_" in n]
    opt = torch.optim.AdamW(params, lr=1e-4)
    model.train()

    def step():
        ids = torch.randint(0, c["vocab_size"], (args.batch, args.seq))
        opt.zero_grad(set_to_none=True)
        loss = model(ids, ids)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    per_round = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        per_round.append((time.perf_counter() - start) / args.steps)
    sps = statistics.median(per_round)
    tokens = args.batch * args.seq
    print(json.dumps({
        "peer": "pytorch-eager " + torch.__version__,
        "dtype": args.dtype,
        "threads": torch.get_num_threads(),
        "tokens_per_sec": tokens / sps,
        "gflops_per_sec": tokens * flops_per_token(c, args.seq) / sps / 1e9,
        "ms_per_step": 1000 * sps,
        "spread_percent": 100 * (max(per_round) - min(per_round)) / sps,
        "memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable_parameters": sum(p.numel() for p in params),
    }))


if __name__ == "__main__":
    main()
