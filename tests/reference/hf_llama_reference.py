"""Independent reference for LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM /
Qwen3ForCausalLM numerics.

Written from the equations in docs/formats.md §1 and §4 (the ones
Hugging Face transformers and PEFT compute), with plain torch ops so that the
C++ engine can be checked against it. transformers and peft are not imported.

Conventions (each matches transformers' eager path):
- Weights are a dict name -> tensor in PyTorch [out, in] layout. The reference
  upcasts them to fp32 once (`to_fp32`), so a BF16/F16 checkpoint is computed in
  fp32 from its rounded weights.
- RMSNorm: upcast to fp32, x * rsqrt(mean(x^2) + eps), cast back to the input
  dtype, THEN multiply by the weight.
- RoPE: rotate-half layout (pairs i and i + d/2), inv_freq computed in fp32,
  angles = position * inv_freq, position ids 0..T-1 (transformers' forward does
  not derive them from the attention mask; with right padding this is moot).
- rope_scaling: none, "linear" (inv_freq / factor), "llama3" (piecewise).
- GQA: k/v heads repeated with repeat_interleave, query head h reads kv head
  h // (heads / kv_heads).
- Attention: scores = (q @ k^T) * d^-0.5, masked with the fp32 minimum where a
  key is in the future or is padding, softmax in fp32, cast back, @ v.
- Sliding window (Mistral, `sliding_window` W): key j is visible from query i
  only when i - j < W (W keys including the query's own), on top of the causal
  and padding masks (transformers' sliding_window_overlay: kv_idx > q_idx - W).
  A Mistral config without the key means W = 4096 (MistralConfig's default);
  null means full attention.
- Projection biases: Llama/Mistral/Qwen3 put a bias on q, k, v AND o when
  attention_bias is true; Qwen2 always has q/k/v biases and never an o bias.
  The reference applies whatever `<name>.bias` tensors the checkpoint holds.
- Qwen3: `self_attn.q_norm` / `k_norm` are RMSNorms over head_dim applied to
  each head of q and k (shape [B, T, heads, d]) BEFORE RoPE, eps rms_norm_eps.
- Qwen2/Qwen3 sliding-window layers (use_sliding_window true, or layer_types
  naming "sliding_attention") are not modelled: the Config refuses them.
- MLP: down(silu(gate(x)) * up(x)).
- lm_head: `lm_head.weight`, or `model.embed_tokens.weight` when
  tie_word_embeddings is true.
- Loss: logits in fp32, labels shifted by one inside the loss, ignore -100,
  mean over all counted tokens of the batch.
- PEFT LoRA: W' = W + s * (B @ A), s = lora_alpha / r (use_rslora: / sqrt(r)),
  computed in fp32 and cast to W's dtype.
"""
import math

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


class Config:
    """config.json with transformers' defaults for keys that are absent (docs/formats.md §1)."""

    def __init__(self, j):
        self.raw = dict(j)
        self.architecture = (j.get("architectures") or [None])[0]
        self.model_type = j.get("model_type", "llama")
        assert self.model_type in ("llama", "mistral", "qwen2", "qwen3"), self.model_type
        self.vocab_size = j.get("vocab_size", 32000)
        self.hidden_size = j.get("hidden_size", 4096)
        self.intermediate_size = j.get("intermediate_size", 11008)
        self.num_hidden_layers = j.get("num_hidden_layers", 32)
        self.num_attention_heads = j.get("num_attention_heads", 32)
        kv = j.get("num_key_value_heads")
        self.num_key_value_heads = self.num_attention_heads if kv is None else kv
        hd = j.get("head_dim")
        self.head_dim = self.hidden_size // self.num_attention_heads if hd is None else hd
        self.max_position_embeddings = j.get("max_position_embeddings", 2048)
        self.rms_norm_eps = j.get("rms_norm_eps", 1e-6)
        self.tie_word_embeddings = j.get("tie_word_embeddings", False)
        self.attention_bias = j.get("attention_bias", False)
        self.mlp_bias = j.get("mlp_bias", False)
        self.qk_norm = self.model_type == "qwen3"
        if self.model_type == "qwen2":  # q/k/v always biased, o never
            self.qkv_bias, self.o_bias = True, False
        elif self.model_type == "qwen3":
            self.qkv_bias = self.o_bias = j.get("attention_bias", False)
        else:
            self.qkv_bias = self.o_bias = self.attention_bias
        self.sliding_window = None
        if self.model_type == "mistral":
            self.sliding_window = j["sliding_window"] if "sliding_window" in j else 4096
        elif self.model_type in ("qwen2", "qwen3"):
            assert not j.get("use_sliding_window", False), "Qwen sliding-window layers are not modelled"
            assert all(t == "full_attention" for t in j.get("layer_types") or []), "only full_attention layers"
        params = j.get("rope_parameters")
        if params is not None:  # newest transformers: theta and scaling in one object
            self.rope_theta = params.get("rope_theta", 10000.0)
            scaling = dict(params)
        else:
            self.rope_theta = j.get("rope_theta", 10000.0)
            scaling = dict(j.get("rope_scaling") or {})
        rope_type = scaling.get("rope_type", scaling.get("type", "default"))
        self.rope_type = rope_type
        self.rope_scaling = scaling
        assert j.get("hidden_act", "silu") == "silu", "only SiLU is supported"
        assert rope_type in ("default", "linear", "llama3"), f"unsupported rope type {rope_type}"
        assert self.num_attention_heads % self.num_key_value_heads == 0


def to_fp32(weights):
    return {k: v.float() for k, v in weights.items()}


# ---------------------------------------------------------------- building blocks

def rms_norm(x, weight, eps):
    """transformers' LlamaRMSNorm: the cast back precedes the weight multiply."""
    x32 = x.float()
    variance = x32.pow(2).mean(-1, keepdim=True)
    normed = x32 * torch.rsqrt(variance + eps)
    return weight * normed.to(x.dtype)


def rope_inv_freq(cfg):
    """[d/2] fp32 inverse frequencies after rope_scaling."""
    d = cfg.head_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    s = cfg.rope_scaling
    if cfg.rope_type == "linear":
        inv = inv / s["factor"]
    elif cfg.rope_type == "llama3":
        factor = s["factor"]
        low, high = s["low_freq_factor"], s["high_freq_factor"]
        old_ctx = s["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
        wavelen = 2 * math.pi / inv
        # Long wavelengths (> C/low) are slowed by `factor`, short ones (< C/high) kept, the band between blended.
        scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old_ctx / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rope_cos_sin(inv_freq, seq_len):
    """cos, sin: [T, d] for positions 0..T-1 (angles duplicated: cat(freqs, freqs))."""
    pos = torch.arange(seq_len, dtype=torch.float32)
    freqs = torch.outer(pos, inv_freq.float())  # [T, d/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, d]
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin):
    """x: [B, heads, T, d]; cos/sin: [T, d]."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos + rotate_half(x) * sin


def attention_allowed(attention_mask, seq_len, batch, sliding_window=None):
    """Bool [B, 1, T, T]: key j visible to query i when j <= i, key j is not padding, and (with a
    sliding window W) i - j < W."""
    causal = torch.ones(seq_len, seq_len, dtype=torch.bool).tril()
    if sliding_window is not None:
        i = torch.arange(seq_len)[:, None]
        j = torch.arange(seq_len)[None, :]
        causal = causal & (i - j < sliding_window)
    if attention_mask is None:
        return causal[None, None].expand(batch, 1, seq_len, seq_len)
    keys = attention_mask.bool()[:, None, None, :]  # [B, 1, 1, T]
    return causal[None, None] & keys


def plain_linear(x, weights, name):
    return F.linear(x, weights[name + ".weight"], weights.get(name + ".bias"))


def self_attention(x, weights, prefix, cfg, cos, sin, allowed, linear=plain_linear):
    B, T, _ = x.shape
    H, KV, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    q = linear(x, weights, prefix + "q_proj").view(B, T, H, d).transpose(1, 2)  # [B, H, T, d]
    k = linear(x, weights, prefix + "k_proj").view(B, T, KV, d).transpose(1, 2)  # [B, KV, T, d]
    v = linear(x, weights, prefix + "v_proj").view(B, T, KV, d).transpose(1, 2)  # [B, KV, T, d]
    if cfg.qk_norm:  # Qwen3: RMSNorm over d of every head, before RoPE
        q = rms_norm(q, weights[prefix + "q_norm.weight"], cfg.rms_norm_eps)
        k = rms_norm(k, weights[prefix + "k_norm.weight"], cfg.rms_norm_eps)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k = k.repeat_interleave(H // KV, dim=1)  # [B, H, T, d]
    v = v.repeat_interleave(H // KV, dim=1)
    scores = torch.matmul(q, k.transpose(2, 3)) * (d ** -0.5)  # [B, H, T, T]
    scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H * d)  # [B, T, H·d]
    return linear(out, weights, prefix + "o_proj")


def mlp(x, weights, prefix, linear=plain_linear):
    gate = linear(x, weights, prefix + "gate_proj")
    up = linear(x, weights, prefix + "up_proj")
    return linear(F.silu(gate) * up, weights, prefix + "down_proj")


# ---------------------------------------------------------------- model

def forward(weights, cfg, input_ids, attention_mask=None, linear=plain_linear, attention=self_attention):
    """Logits [B, T, vocab] fp32. `linear` / `attention` can be swapped to check alternative code paths."""
    B, T = input_ids.shape
    h = weights["model.embed_tokens.weight"][input_ids]  # [B, T, hidden]
    cos, sin = rope_cos_sin(rope_inv_freq(cfg), T)
    allowed = attention_allowed(attention_mask, T, B, cfg.sliding_window)
    eps = cfg.rms_norm_eps
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        a = attention(rms_norm(h, weights[p + "input_layernorm.weight"], eps), weights, p + "self_attn.", cfg,
                      cos, sin, allowed, linear)
        h = h + a
        h = h + mlp(rms_norm(h, weights[p + "post_attention_layernorm.weight"], eps), weights, p + "mlp.", linear)
    h = rms_norm(h, weights["model.norm.weight"], eps)
    head = weights["model.embed_tokens.weight"] if cfg.tie_word_embeddings else weights["lm_head.weight"]
    return F.linear(h, head).float()


def causal_lm_loss(logits, labels):
    """Mean cross-entropy of logits[:, t] against labels[:, t + 1] over labels != -100."""
    V = logits.shape[-1]
    shift_logits = logits[:, :-1, :].float().reshape(-1, V)
    shift_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE_INDEX, reduction="mean")


def eval_windows(weights, cfg, ids, context, forward_fn=forward):
    """`droplora eval` scoring of one token stream.

    Window k covers ids[k*C : k*C + C + 1]: its first part is the input, the
    next tokens the targets; windows overlap by one token so each token after
    the first is predicted exactly once, with the context restarting at each
    window. Returns (sum of CE in float64, predicted-token count, windows).
    """
    total, count, k = 0.0, 0, 0
    while k * context + 1 < len(ids):
        win = ids[k * context: k * context + context + 1]
        inp = torch.tensor([win[:-1]], dtype=torch.int64)
        tgt = torch.tensor(win[1:], dtype=torch.int64)
        logits = forward_fn(weights, cfg, inp)[0]  # [t, vocab]
        nll = F.cross_entropy(logits.float(), tgt, reduction="none")
        total += nll.double().sum().item()
        count += tgt.numel()
        k += 1
    return total, count, k


# ---------------------------------------------------------------- PEFT LoRA

PEFT_PREFIX = "base_model.model."


def lora_scaling(adapter_config):
    r, alpha = adapter_config["r"], adapter_config["lora_alpha"]
    return alpha / math.sqrt(r) if adapter_config.get("use_rslora", False) else alpha / r


def lora_pairs(adapter_tensors, adapter_config):
    """{module name (e.g. model.layers.0.self_attn.q_proj): (A [r, in], B [out, r])}."""
    assert not adapter_config.get("rank_pattern") and not adapter_config.get("alpha_pattern")
    pairs = {}
    for name, a in adapter_tensors.items():
        if not name.endswith(".lora_A.weight"):
            continue
        module = name[len(PEFT_PREFIX):-len(".lora_A.weight")]
        b = adapter_tensors[PEFT_PREFIX + module + ".lora_B.weight"]
        assert a.shape[0] == adapter_config["r"] and b.shape[1] == adapter_config["r"]
        pairs[module] = (a, b)
    return pairs


def merge_lora(weights, adapter_tensors, adapter_config):
    """Weights with every adapted W replaced by W + s * (B @ A) (fp32 math, W's dtype)."""
    s = lora_scaling(adapter_config)
    merged = dict(weights)
    for module, (a, b) in lora_pairs(adapter_tensors, adapter_config).items():
        w = weights[module + ".weight"]
        assert w.shape == (b.shape[0], a.shape[1]), f"{module}: adapter shape does not fit {tuple(w.shape)}"
        merged[module + ".weight"] = (w.float() + (b.float() @ a.float()) * s).to(w.dtype)
    return merged


def lora_linear(adapter_tensors, adapter_config):
    """A `linear` for forward() that applies the adapter unmerged: W x + s * B (A x)."""
    s = lora_scaling(adapter_config)
    pairs = lora_pairs(adapter_tensors, adapter_config)

    def linear(x, weights, name):
        y = plain_linear(x, weights, name)
        if name in pairs:
            a, b = pairs[name]
            y = y + F.linear(F.linear(x, a.float()), b.float()) * s
        return y
    return linear
