"""Minimal safetensors reader/writer for the test fixtures (docs/formats.md §3).

Written from the format description, not from the safetensors package (which
is not installed here): u64 little-endian header length N, N bytes of JSON
header padded with spaces to a multiple of 8, then the tensors packed back to
back. The writer orders tensors the way the Rust library does (larger item
size first, then by name) and always stores {"format": "pt"} metadata.
"""
import json
import struct

import numpy as np
import torch

# dtype name -> (torch dtype, item size in bytes)
_DTYPES = {
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "F64": (torch.float64, 8),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
_NAME_OF = {tdt: name for name, (tdt, _) in _DTYPES.items()}


def _tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit patterns (little-endian host).
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def serialize(tensors, metadata=None):
    """Returns the bytes of a safetensors file holding `tensors` (dict name -> torch.Tensor)."""
    meta = {"format": "pt"}
    if metadata:
        meta.update(metadata)
    order = sorted(tensors, key=lambda n: (-_DTYPES[_NAME_OF[tensors[n].dtype]][1], n))
    header = {"__metadata__": meta}
    blobs = []
    offset = 0
    for name in order:
        t = tensors[name]
        data = _tensor_bytes(t)
        header[name] = {"dtype": _NAME_OF[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def save(tensors, path, metadata=None):
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def load(path):
    """Returns (dict name -> torch.Tensor, metadata dict); checks the layout rules of docs/formats.md §3."""
    with open(path, "rb") as f:
        raw = f.read()
    assert len(raw) >= 8, f"{path}: shorter than 8 bytes"
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), f"{path}: header runs past the end"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    buf = raw[8 + n:]
    spans = sorted((info["data_offsets"][0], info["data_offsets"][1], name) for name, info in header.items())
    pos = 0
    for begin, end, name in spans:
        assert begin == pos and end >= begin, f"{path}: tensor {name} is not packed back to back"
        pos = end
    assert pos == len(buf), f"{path}: buffer length {len(buf)} != last end {pos}"
    out = {}
    for name, info in header.items():
        tdt, size = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        numel = int(np.prod(info["shape"])) if info["shape"] else 1
        assert end - begin == numel * size, f"{path}: tensor {name} has the wrong byte length"
        chunk = bytearray(buf[begin:end])
        if tdt == torch.bfloat16:
            t = torch.frombuffer(chunk, dtype=torch.int16).view(torch.bfloat16) if numel else torch.empty(0, dtype=tdt)
        else:
            t = torch.frombuffer(chunk, dtype=tdt) if numel else torch.empty(0, dtype=tdt)
        out[name] = t.reshape(info["shape"]).clone()
    return out, metadata
