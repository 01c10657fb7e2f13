"""Self-checks of the reference and of the fixtures, run by make_fixtures.py after writing them.

Three kinds, all asserted so that a regeneration with a mistake fails loudly:
- consistency: the reference against a second, deliberately different
  formulation (per-head loops, complex-number RoPE, float64 formulas, a GQA
  model expanded to plain multi-head attention, unmerged LoRA);
- invariants: padding and causality, loss and eval-window bookkeeping;
- sensitivity: each classic porting mistake (no RoPE, interleaved RoPE, wrong
  GQA head mapping, ignored rope_scaling, missing norm weight, missing 1/sqrt(d))
  must move the golden logits by far more than the C++ tests' tolerance, or
  the fixtures could not catch it.
"""
import math

import torch
import torch.nn.functional as F

import hf_llama_reference as ref

SENSITIVITY_MIN = 1e-2  # a mutation must move some unpadded logit by at least this (tests use ~1e-4)


def _max_diff(a, b):
    return (a - b).abs().max().item()


def check_roundtrip(name, written, stored, shapes):
    """What was written reads back bit-exactly, with the names and shapes of docs/formats.md §1."""
    assert set(written) == set(stored) == set(shapes), f"{name}: tensor names differ"
    for k, v in stored.items():
        assert tuple(v.shape) == tuple(shapes[k]) and v.dtype == written[k].dtype, f"{name}: {k} shape/dtype"
        assert torch.equal(v, written[k]), f"{name}: {k} does not read back bit-exactly"


def loop_attention(rope="complex", kv_map="interleave", scale=True, qk_norm=True, window_slack=0):
    """Second attention implementation: one head at a time, RoPE as a complex rotation of (x_i, x_{i+d/2}).
    The keyword arguments select deliberate mistakes for the sensitivity checks."""
    def attention(x, weights, prefix, cfg, cos, sin, allowed, linear):
        B, T, _ = x.shape
        H, KV, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        q = linear(x, weights, prefix + "q_proj").view(B, T, H, d)
        k = linear(x, weights, prefix + "k_proj").view(B, T, KV, d)
        v = linear(x, weights, prefix + "v_proj").view(B, T, KV, d)
        if cfg.qk_norm and qk_norm:  # per-head RMSNorm in float64, then back to fp32
            def head_norm(t, w):
                t64 = t.double()
                return (w.double() * t64 / torch.sqrt((t64 ** 2).mean(-1, keepdim=True) + cfg.rms_norm_eps)).float()
            q = head_norm(q, weights[prefix + "q_norm.weight"])
            k = head_norm(k, weights[prefix + "k_norm.weight"])
        angle = torch.arange(T, dtype=torch.float64)[:, None] * ref.rope_inv_freq(cfg).double()[None, :]
        turn = torch.polar(torch.ones_like(angle), angle)[None, :, None, :]  # [1, T, 1, d/2]

        def rotate(t):
            if rope == "none":
                return t
            t64 = t.double()
            if rope == "complex":
                z = torch.complex(t64[..., :d // 2], t64[..., d // 2:]) * turn
                return torch.cat((z.real, z.imag), dim=-1).float()
            z = torch.complex(t64[..., 0::2], t64[..., 1::2]) * turn  # "interleaved": the GPT-J layout
            return torch.stack((z.real, z.imag), dim=-1).flatten(-2).float()

        q, k = rotate(q), rotate(k)
        heads = []
        for h in range(H):
            g = h // (H // KV) if kv_map == "interleave" else h % KV
            s = torch.einsum("btd,bsd->bts", q[:, :, h], k[:, :, g]) / (math.sqrt(d) if scale else 1.0)
            if cfg.sliding_window is None:
                visible = allowed[:, 0]
            else:  # the window rebuilt key by key: the W most recent positions (+ slack for mutations)
                visible = torch.zeros_like(allowed[:, 0])
                for i in range(T):
                    for j in range(max(0, i - cfg.sliding_window + 1 - window_slack), i + 1):
                        visible[:, i, j] = True
                pad_keys = allowed[:, 0].any(dim=1)  # [B, T]: keys some query may see = non-padding keys
                visible = visible & pad_keys[:, None, :]
            # -inf, except for a query with no visible key at all (a padded query whose whole window is
            # padding): there the fp32 minimum gives transformers' uniform row instead of NaN.
            s = s.masked_fill(~visible, float("-inf")).masked_fill(~visible.any(-1, keepdim=True),
                                                                   torch.finfo(s.dtype).min)
            heads.append(torch.einsum("bts,bsd->btd", torch.softmax(s, dim=-1), v[:, :, g]))
        return linear(torch.cat(heads, dim=-1), weights, prefix + "o_proj")  # [B, T, H·d]
    return attention


def _qk_norm_after_rope(x, weights, prefix, cfg, cos, sin, allowed, linear):
    """Qwen3 mutation: the per-head norms applied after RoPE instead of before."""
    B, T, _ = x.shape
    H, KV, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    q = ref.apply_rope(linear(x, weights, prefix + "q_proj").view(B, T, H, d).transpose(1, 2), cos, sin)
    k = ref.apply_rope(linear(x, weights, prefix + "k_proj").view(B, T, KV, d).transpose(1, 2), cos, sin)
    q = ref.rms_norm(q, weights[prefix + "q_norm.weight"], cfg.rms_norm_eps)
    k = ref.rms_norm(k, weights[prefix + "k_norm.weight"], cfg.rms_norm_eps)
    v = linear(x, weights, prefix + "v_proj").view(B, T, KV, d).transpose(1, 2)
    k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
    s = torch.matmul(q, k.transpose(2, 3)) * d ** -0.5
    probs = torch.softmax(s.masked_fill(~allowed, torch.finfo(s.dtype).min), dim=-1)
    return linear(torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H * d), weights, prefix + "o_proj")


def _check_building_blocks(loaded):
    out = []
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 5, 64, generator=g) * 3
    w = 1 + 0.1 * torch.randn(64, generator=g)
    x64 = x.double()
    expect = w.double() * x64 / torch.sqrt((x64 ** 2).mean(-1, keepdim=True) + 1e-5)
    diff = _max_diff(ref.rms_norm(x, w, 1e-5).double(), expect)
    assert diff < 1e-5, diff
    out.append(f"rms_norm vs float64 formula: max diff {diff:.1e}")
    for name, (cfg, _) in loaded.items():
        d = cfg.head_dim
        i = torch.arange(d // 2, dtype=torch.float64)
        default = 1.0 / cfg.rope_theta ** (2 * i / d)
        if cfg.rope_type == "linear":
            expect = default / cfg.rope_scaling["factor"]
        elif cfg.rope_type == "llama3":
            s = cfg.rope_scaling
            C, f = s["original_max_position_embeddings"], s["factor"]
            lo, hi = s["low_freq_factor"], s["high_freq_factor"]
            bands, vals = [], []
            for inv in default.tolist():
                wavelen = 2 * math.pi / inv
                if wavelen > C / lo:
                    vals.append(inv / f), bands.append("low")
                elif wavelen < C / hi:
                    vals.append(inv), bands.append("high")
                else:
                    t = (C / wavelen - lo) / (hi - lo)
                    vals.append((1 - t) * inv / f + t * inv), bands.append("mid")
            expect = torch.tensor(vals, dtype=torch.float64)
            assert {"low", "mid", "high"} <= set(bands), f"{name}: llama3 fixture misses a band: {bands}"
            out.append(f"{name}: llama3 frequency bands {bands}")
        else:
            expect = default
        rel = ((ref.rope_inv_freq(cfg).double() - expect).abs() / expect).max().item()
        assert rel < 1e-6, (name, rel)
        out.append(f"{name}: inv_freq ({cfg.rope_type}) vs float64 formula: max rel diff {rel:.1e}")
    return out


def _check_models(loaded, forward_inputs):
    out = []
    ids, mask, labels = forward_inputs()
    for name, (cfg, w) in loaded.items():
        logits = ref.forward(w, cfg, ids, mask)
        keep = mask.bool()
        other = ref.forward(w, cfg, ids, mask, attention=loop_attention())
        diff = _max_diff(logits[keep], other[keep])
        assert diff < 1e-4, (name, diff)
        alone = ref.forward(w, cfg, ids[1:, :17])[0]
        pad_diff = _max_diff(logits[1, :17], alone)
        assert pad_diff < 1e-5, (name, pad_diff)
        changed = ids.clone()
        changed[:, 20] = 5
        causal_diff = _max_diff(ref.forward(w, cfg, changed, mask)[:, :20], logits[:, :20])
        assert causal_diff < 1e-6, (name, causal_diff)
        logp = torch.log_softmax(logits[:, :-1].double(), dim=-1)
        tgt, counted = labels[:, 1:], labels[:, 1:] != ref.IGNORE_INDEX
        nll = -logp.gather(-1, tgt.clamp(min=0)[..., None])[..., 0]
        manual = nll[counted].sum() / counted.sum()
        loss_diff = abs(ref.causal_lm_loss(logits, labels).item() - manual.item())
        assert counted.sum().item() == 23 + 16 and loss_diff < 1e-5, (name, loss_diff)
        out.append(f"{name}: per-head/complex-RoPE attention {diff:.1e}; padded row vs alone {pad_diff:.1e}; "
                   f"future token change {causal_diff:.1e}; loss vs float64 {loss_diff:.1e} (39 tokens)")
        out += _check_sensitivity(name, cfg, w, ids, mask, logits)
    return out


def _check_sensitivity(name, cfg, w, ids, mask, logits):
    keep = mask.bool()
    mutations = {
        "no RoPE": dict(attention=loop_attention(rope="none")),
        "interleaved RoPE": dict(attention=loop_attention(rope="interleaved")),
        "no 1/sqrt(d)": dict(attention=loop_attention(scale=False)),
        "norm weights ignored": dict(weights={k: (torch.ones_like(v) if k.endswith("norm.weight") else v)
                                             for k, v in w.items()}),
    }
    if cfg.num_key_value_heads not in (1, cfg.num_attention_heads):
        mutations["GQA heads tiled (h % kv)"] = dict(attention=loop_attention(kv_map="tile"))
    if cfg.rope_type != "default":
        raw = dict(cfg.raw, rope_scaling=None)
        mutations[f"rope_scaling {cfg.rope_type} ignored"] = dict(cfg=ref.Config(raw))
    if cfg.qk_norm:
        mutations["q/k norm skipped"] = dict(attention=loop_attention(qk_norm=False))
        mutations["q/k norm after RoPE"] = dict(attention=_qk_norm_after_rope)
    if cfg.qkv_bias or cfg.o_bias:
        mutations["biases ignored"] = dict(weights={k: v for k, v in w.items() if not k.endswith(".bias")})
    if cfg.sliding_window is not None and cfg.sliding_window < ids.shape[1]:
        mutations["sliding window ignored"] = dict(cfg=ref.Config(dict(cfg.raw, sliding_window=None)))
        mutations["window one key wider (i - j <= W)"] = dict(attention=loop_attention(window_slack=1))
    parts = []
    for label, mut in mutations.items():
        other = ref.forward(mut.get("weights", w), mut.get("cfg", cfg), ids, mask,
                            attention=mut.get("attention", ref.self_attention))
        diff = _max_diff(logits[keep], other[keep])
        assert diff > SENSITIVITY_MIN, f"{name}: fixture is blind to '{label}' (max logit change {diff:.1e})"
        parts.append(f"{label} {diff:.2f}")
    # With right padding the mask changes only the padded query positions (causality already hides later
    # keys), so their golden logits are where a missing padding mask shows.
    no_pad = ref.forward(w, cfg, ids, None)
    diff = _max_diff(logits[~keep], no_pad[~keep])
    assert diff > SENSITIVITY_MIN and _max_diff(logits[keep], no_pad[keep]) < 1e-5, f"{name}: padding mask"
    parts.append(f"padding mask ignored (padded positions only) {diff:.2f}")
    return [f"{name}: mutations move logits by: " + "; ".join(parts)]


def _check_gqa_as_mha(loaded, forward_inputs):
    """A GQA model equals the MHA model whose k/v rows are repeated per query head (kv = heads path)."""
    cfg, w = loaded["tiny-llama-gqa"]
    rep, d = cfg.num_attention_heads // cfg.num_key_value_heads, cfg.head_dim
    mha = dict(w)
    for k, v in w.items():
        if k.endswith(("k_proj.weight", "v_proj.weight")):
            mha[k] = v.view(cfg.num_key_value_heads, d, -1).repeat_interleave(rep, dim=0).reshape(-1, v.shape[1])
    mha_cfg = ref.Config(dict(cfg.raw, num_key_value_heads=cfg.num_attention_heads))
    ids, mask, _ = forward_inputs()
    keep = mask.bool()
    diff = _max_diff(ref.forward(w, cfg, ids, mask)[keep], ref.forward(mha, mha_cfg, ids, mask)[keep])
    assert diff < 1e-5, diff
    return [f"tiny-llama-gqa vs the same model expanded to MHA (kv=heads): max diff {diff:.1e}"]


def _check_eval(loaded, sample_ids, long_ids):
    out = []
    cfg, w = loaded["tiny-llama-gqa"]
    C = cfg.max_position_embeddings
    # Window bookkeeping, enumerated independently: every position 1..n-1 is a target exactly once.
    for ids in (sample_ids, long_ids, sample_ids[:C + 1], sample_ids[:C + 2], sample_ids[:2]):
        seen, start = [], 0
        while start + 1 < len(ids):
            seen += list(range(start + 1, min(start + C + 1, len(ids))))
            start += C
        assert seen == list(range(1, len(ids)))
    assert (len(long_ids) - 1) % C == 0 and (len(long_ids) - 1) // C > 3, "long.txt should fill whole windows"
    # One window: eval equals the CE sum of a single forward pass.
    short = sample_ids[:C + 1]
    total, count, windows = ref.eval_windows(w, cfg, short, C)
    logits = ref.forward(w, cfg, torch.tensor([short[:-1]]))[0]
    single = F.cross_entropy(logits, torch.tensor(short[1:]), reduction="sum").item()
    assert windows == 1 and count == C and abs(total - single) / count < 1e-5
    # C + 2 ids: a second window of exactly one target.
    total2, count2, windows2 = ref.eval_windows(w, cfg, sample_ids[:C + 2], C)
    assert windows2 == 2 and count2 == C + 1
    out.append(f"eval windows: coverage exact for 5 lengths; one-window eval = single forward "
               f"({abs(total - single) / count:.1e}); long.txt = {(len(long_ids) - 1) // C} full windows")
    return out


def _check_adapters(loaded, adapters, forward_inputs):
    out = []
    cfg, w = loaded["tiny-llama-gqa"]
    ids, mask, _ = forward_inputs()
    keep = mask.bool()
    base = ref.forward(w, cfg, ids, mask)
    for name, (tensors, acfg) in adapters.items():
        merged = ref.forward(ref.merge_lora(w, tensors, acfg), cfg, ids, mask)
        unmerged = ref.forward(w, cfg, ids, mask, linear=ref.lora_linear(tensors, acfg))
        diff, effect = _max_diff(merged[keep], unmerged[keep]), _max_diff(merged[keep], base[keep])
        assert diff < 1e-4 and effect > 0.1, (name, diff, effect)
        out.append(f"{name}: merged vs unmerged {diff:.1e}; adapter moves logits by up to {effect:.2f}")
    acfg = adapters["gqa-rslora"][1]
    assert ref.lora_scaling(acfg) == acfg["lora_alpha"] / math.sqrt(acfg["r"]) == 4.0
    return out


def run_all(loaded, adapters, sample_ids, long_ids, forward_inputs):
    lines = _check_building_blocks(loaded)
    lines += _check_models(loaded, forward_inputs)
    lines += _check_gqa_as_mha(loaded, forward_inputs)
    lines += _check_eval(loaded, sample_ids, long_ids)
    lines += _check_adapters(loaded, adapters, forward_inputs)
    lines.append("all sanity checks passed")
    return lines
