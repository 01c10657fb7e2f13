#!/usr/bin/python3
"""Text and weights for the embedded demo, from nothing but Debian's own files.

  make_data.py corpus --out-dir DIR [--examples N] [--drills N] [--seed S]
      DIR/pretrain.jsonl  {"text": ...} documents: the license texts of
                          /usr/share/common-licenses (base-files, on every
                          Debian system) in chunks of a few sentences, N
                          generated alpaca documents of the PRETRAIN_TASKS and
                          --drills plain-text copy drills.
      DIR/spm_input.txt   one sentence per line, for spm_train.
  make_data.py datasets --out-dir DIR [--seed S] [--train N] [--test N]
      the demo tasks as alpaca .jsonl (train + held-out test) and the chat task.
  make_data.py init-model --out-dir DIR --tokenizer FILE [--seed S]
      config.json, tokenizer_config.json, tokenizer.model and model.safetensors
      (F32, random initial weights) of the demo's LLaMA.

The documents are JSON lines rather than a .txt because the alpaca layout has
blank lines inside one example, which a .txt file would split. Everything is
seeded; the same seed gives byte-identical files. Stdlib only.
"""

import argparse
import array
import json
import math
import os
import random
import re
import shutil
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_tasks import CHAT_TASK, DEMO_TASKS, PRETRAIN_TASKS, copy_drill  # noqa: E402
from demo_words import alpaca_text  # noqa: E402

LICENSE_DIR = "/usr/share/common-licenses"
CHUNK_WORDS = 60  # about 80 tokens: license chunks are as long as the generated examples

# The demo base: a LLaMA with grouped-query attention and tied embeddings.
MODEL = {
    "hidden_size": 192,
    "intermediate_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 6,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
}


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def license_paragraphs():
    """Paragraphs (whitespace-normalised) of every license file; symlinks are duplicates and skipped."""
    paragraphs = []
    for name in sorted(os.listdir(LICENSE_DIR)):
        path = os.path.join(LICENSE_DIR, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for block in re.split(r"\n\s*\n", text):
            words = block.split()
            if words:
                paragraphs.append(words)
    if not paragraphs:
        sys.exit(f"make_data.py: {LICENSE_DIR} has no license text")
    return paragraphs


def license_chunks():
    """Consecutive paragraphs packed into chunks of at most CHUNK_WORDS words (long ones cut)."""
    chunks, current = [], []
    for words in license_paragraphs():
        while len(words) > CHUNK_WORDS:
            if current:
                chunks.append(" ".join(current))
                current = []
            chunks.append(" ".join(words[:CHUNK_WORDS]))
            words = words[CHUNK_WORDS:]
        if current and len(current) + len(words) > CHUNK_WORDS:
            chunks.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        chunks.append(" ".join(current))
    return chunks


def cmd_corpus(args):
    rng = random.Random(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    chunks = license_chunks()
    docs = [c for c in chunks for _ in range(args.license_repeats)]
    generated = [alpaca_text(rng.choice(PRETRAIN_TASKS)(rng)) for _ in range(args.examples)]
    generated += [copy_drill(rng) for _ in range(args.drills)]
    docs += generated
    rng.shuffle(docs)
    write_jsonl(os.path.join(args.out_dir, "pretrain.jsonl"), ({"text": d} for d in docs))
    # The tokenizer sees each license chunk once and the generated text, line by line.
    with open(os.path.join(args.out_dir, "spm_input.txt"), "w", encoding="utf-8") as f:
        for doc in chunks + generated:
            for line in doc.split("\n"):
                if line.strip():
                    f.write(line + "\n")
    print(f"corpus: {len(chunks)} license chunks x{args.license_repeats}, {args.examples} generated examples, "
          f"{args.drills} copy drills, {len(docs)} documents")


def cmd_datasets(args):
    os.makedirs(args.out_dir, exist_ok=True)
    for stem, make in DEMO_TASKS + [CHAT_TASK]:
        rng = random.Random(args.seed * 1000003 + zlib.crc32(stem.encode()))  # one stream per task, order-free
        seen, rows = set(), []
        # Distinct rows, so no test row is also a training row.
        while len(rows) < args.train + args.test:
            row = make(rng)
            key = json.dumps(row, sort_keys=True)
            if key not in seen:
                seen.add(key)
                rows.append(row)
        write_jsonl(os.path.join(args.out_dir, f"{stem}-train.jsonl"), rows[: args.train])
        write_jsonl(os.path.join(args.out_dir, f"{stem}-test.jsonl"), rows[args.train:])
        print(f"datasets: {stem}: {args.train} train, {args.test} test rows")


def tensor_shapes(vocab):
    h, i = MODEL["hidden_size"], MODEL["intermediate_size"]
    d = h // MODEL["num_attention_heads"]
    kv = MODEL["num_key_value_heads"] * d
    shapes = {"model.embed_tokens.weight": (vocab, h), "model.norm.weight": (h,)}
    for n in range(MODEL["num_hidden_layers"]):
        p = f"model.layers.{n}."
        shapes.update({
            p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
            p + "self_attn.q_proj.weight": (h, h), p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, h),
            p + "mlp.gate_proj.weight": (i, h), p + "mlp.up_proj.weight": (i, h), p + "mlp.down_proj.weight": (h, i),
        })
    return shapes


def write_safetensors(path, tensors):
    """tensors: name -> (shape, array('f')). F32, little-endian, names sorted, header padded to 8 bytes."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in sorted(tensors):
        shape, data = tensors[name]
        size = 4 * len(data)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in sorted(tensors):
            data = tensors[name][1]
            if sys.byteorder != "little":
                data = array.array("f", data)
                data.byteswap()
            f.write(data.tobytes())


def vocab_size_of(tokenizer):
    """The number of pieces in a sentencepiece ModelProto: field 1 (pieces) is repeated, length-delimited."""
    with open(tokenizer, "rb") as f:
        buf = f.read()
    pos, count = 0, 0

    def varint():
        nonlocal pos
        value, shift = 0, 0
        while True:
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while pos < len(buf):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 2:
            length = varint()
            pos += length
        elif wire == 0:
            varint()
        elif wire == 5:
            pos += 4
        elif wire == 1:
            pos += 8
        else:
            sys.exit(f"make_data.py: {tokenizer}: unexpected protobuf wire type {wire}")
        count += field == 1
    return count


def cmd_init_model(args):
    vocab = vocab_size_of(args.tokenizer)
    os.makedirs(args.out_dir, exist_ok=True)
    rng = random.Random(args.seed)
    layers = MODEL["num_hidden_layers"]
    tensors = {}
    for name, shape in tensor_shapes(vocab).items():
        n = math.prod(shape)
        if len(shape) == 1:
            data = array.array("f", [1.0]) * n
        else:
            # GPT-2's scheme: std 0.02, residual-stream outputs scaled down by the depth.
            std = 0.02 / math.sqrt(2 * layers) if name.endswith(("o_proj.weight", "down_proj.weight")) else 0.02
            data = array.array("f", (rng.gauss(0.0, std) for _ in range(n)))
        tensors[name] = (shape, data)
    write_safetensors(os.path.join(args.out_dir, "model.safetensors"), tensors)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
        **MODEL,
        "head_dim": MODEL["hidden_size"] // MODEL["num_attention_heads"], "hidden_act": "silu",
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False,
        "mlp_bias": False, "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
        "initializer_range": 0.02, "torch_dtype": "float32", "use_cache": True,
    }
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    tokenizer_config = {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "<unk>", "pad_token": None, "legacy": True, "tokenizer_class": "LlamaTokenizer",
        "model_max_length": MODEL["max_position_embeddings"], "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(args.out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f, indent=2)
        f.write("\n")
    shutil.copyfile(args.tokenizer, os.path.join(args.out_dir, "tokenizer.model"))
    params = sum(math.prod(s) for s in tensor_shapes(vocab).values())
    print(f"init-model: {params} parameters, vocab {vocab}, in {args.out_dir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("corpus")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--examples", type=int, default=10000)
    p.add_argument("--drills", type=int, default=12000)
    p.add_argument("--license-repeats", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("datasets")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--train", type=int, default=400)
    p.add_argument("--test", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("init-model")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    {"corpus": cmd_corpus, "datasets": cmd_datasets, "init-model": cmd_init_model}[args.command](args)


if __name__ == "__main__":
    main()
