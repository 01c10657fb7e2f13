#!/usr/bin/env python3
"""GPU-machine check (issue: engine foundation): our logits against Hugging Face
transformers' LlamaForCausalLM, fp32 and bf16, on a random-weight model saved
with save_pretrained. Needs torch, transformers and sentencepiece (present on the
lent GPU machine). Run by packaging/gpu/run_gpu_checks.sh after the build.

Prints one JSON line per dtype: max |ours − HF| / max(|HF|, 1) over the logits
and the loss of each, and exits non-zero when fp32 differs by more than 1e-4
(bf16: 3e-2, bf16 rounding of two different kernel orders)."""
import json
import os
import subprocess
import sys
import tempfile

import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build-gpu", "bin", "droplora")
TOKENIZER = os.path.join(ROOT, "tests", "data", "tokenizer", "tokenizer.model")
TEXT = os.path.join(ROOT, "tests", "data", "texts", "sample.txt")


def main():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=1000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                      num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=512,
                      rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).eval()
    for p in model.parameters():  # larger weights than HF's init, so attention is not uniform
        p.data.normal_(0, 1.0 / p.shape[-1] ** 0.5 if p.dim() == 2 else 0.1).add_(1.0 if p.dim() == 1 else 0.0)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    ids = [1] + sp.encode(open(TEXT, encoding="utf-8").read())[:511]
    failed = False
    for dtype, tol in ((torch.float32, 1e-4), (torch.bfloat16, 3e-2)):
        with tempfile.TemporaryDirectory() as d:
            model.to(dtype).save_pretrained(d, safe_serialization=True)
            subprocess.run(["cp", TOKENIZER, d], check=True)
            m = model.to("cuda")
            with torch.no_grad():
                x = torch.tensor([ids], device="cuda")
                out = m(x, labels=x)
            ref_loss = out.loss.float().item()
            r = subprocess.run([BIN, "eval", "--model", d, "--text-file", TEXT, "--device", "cuda",
                                "--window", "511"], capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                sys.exit(1)
            ours = json.loads(r.stdout)
            rel = abs(ours["loss"] - ref_loss) / abs(ref_loss)
            print(json.dumps({"dtype": str(dtype), "hf_loss": ref_loss, "our_loss": ours["loss"], "rel": rel}))
            failed |= rel > tol
            model.to("cpu")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
