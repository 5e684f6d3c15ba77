#!/usr/bin/python3
"""Regenerates the golden files of package safetensors with an implementation
independent of the Go code: tensors come from PyTorch, the file layout is
written by hand with struct/json following the published format (python3-
safetensors is not packaged in Debian, so the reference library itself is not
available here).

Run from this directory:  /usr/bin/python3 gen_golden.py

Outputs
  golden.safetensors     reader fixture: unpadded header, default json.dumps
                         spacing, tensors in arbitrary (unaligned) order
  canonical.safetensors  the same tensors laid out as the reference Rust
                         writer does (metadata first, dtype alignment
                         descending then name, compact JSON, space padding
                         to 8 bytes); Go's Encode must reproduce it byte for byte
  golden.json            what the Go reader must report for every tensor
  conversions.json       float32 -> bf16 / f16 bit patterns computed by PyTorch
"""
import hashlib
import json
import struct

import torch

METADATA = {"format": "pt", "source": "gen_golden.py"}

nan, inf = float("nan"), float("inf")


def torch_bytes(t):
    return t.contiguous().numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()


# name -> (dtype, shape, raw little-endian bytes, float64 values or None)
tensors = {}


def add_torch(name, dtype_name, t):
    values = t.double().flatten().tolist() if t.is_floating_point() else None
    tensors[name] = (dtype_name, list(t.shape), torch_bytes(t), values)


def add_raw(name, dtype_name, shape, raw):
    tensors[name] = (dtype_name, shape, raw, None)


add_torch("model.embed_tokens.weight", "BF16",
          torch.tensor([[1.0, -2.5, 3.140625], [1e-40, -0.0, 65280.0],
                        [inf, -inf, 0.0078125], [1.0e38, -1.5e-38, 7.0]], dtype=torch.float32).to(torch.bfloat16))
add_torch("model.layers.0.mlp.up_proj.weight", "F16",
          torch.tensor([[65504.0, 2.0 ** -14, 2.0 ** -24, -inf], [nan, -0.0, 1.0 / 3.0, 1.0]],
                       dtype=torch.float32).to(torch.float16))
add_torch("model.norm.weight", "F32", torch.tensor([0.1, -1e-45, 3.4028234663852886e38], dtype=torch.float32))
add_torch("lm_head.bias", "F64", torch.tensor([0.1, -2.0 ** -1074], dtype=torch.float64))
add_torch("position_ids", "I64", torch.tensor([[0, 1, -2, 2 ** 62, -(2 ** 63)]], dtype=torch.int64))
add_torch("counts", "I32", torch.tensor([7, -2 ** 31, 2 ** 31 - 1], dtype=torch.int32))
add_torch("mask", "BOOL", torch.tensor([True, False, False, True]))
add_torch("bytes", "U8", torch.tensor([0, 128, 255], dtype=torch.uint8))
add_torch("small", "I8", torch.tensor([-128, 127], dtype=torch.int8))
add_torch("shorts", "I16", torch.tensor([-32768, 12345], dtype=torch.int16))
add_raw("ushorts", "U16", [2], struct.pack("<2H", 65535, 1))
add_raw("uints", "U32", [2], struct.pack("<2I", 2 ** 32 - 1, 2))
add_raw("ulongs", "U64", [1, 1], struct.pack("<Q", 2 ** 64 - 1))
add_raw("fp8", "F8_E4M3", [3], bytes([0x38, 0x7E, 0x80]))
add_raw("fp8_e5m2", "F8_E5M2", [1], bytes([0x3C]))
add_torch("scalar", "F32", torch.tensor(2.5, dtype=torch.float32))
add_torch("empty", "F32", torch.zeros((0, 3), dtype=torch.float32))


def write_file(path, order, compact, pad):
    header, offset = {}, 0
    if compact:
        header["__metadata__"] = dict(sorted(METADATA.items()))
    for name in order:
        dtype, shape, raw, _ = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    if not compact:
        header["__metadata__"] = METADATA  # deliberately last
    text = json.dumps(header, separators=(",", ":") if compact else None).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in order:
            f.write(tensors[name][2])
    return 8 + len(text), header


# The reference writer's Dtype enum, in declaration (increasing alignment) order.
RANK = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
canonical_order = sorted(tensors, key=lambda n: (-RANK.index(tensors[n][0]), n))
write_file("canonical.safetensors", canonical_order, compact=True, pad=True)

data_start, header = write_file("golden.safetensors", list(tensors), compact=False, pad=False)


def f64_bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


expected = {"metadata": METADATA, "tensors": {}}
for name, (dtype, shape, raw, values) in tensors.items():
    begin, end = header[name]["data_offsets"]
    expected["tensors"][name] = {
        "dtype": dtype, "shape": shape, "data_offset": data_start + begin, "byte_len": end - begin,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "float64_bits": None if values is None else [f64_bits(v) for v in values],
    }
with open("golden.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")

# float32 -> bf16 / f16 as PyTorch rounds them: hand-picked edge cases (ties,
# subnormals, overflow, signed zero) plus random bit patterns over the whole
# exponent range.
edge_bits = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000,
    0x3F808000, 0x3F818000, 0x3F80FFFF, 0x3F808001, 0x7F7FFFFF, 0x7F7F8000, 0x00000001, 0x807FFFFF,
    0x477FE000, 0x477FEFFF, 0x477FF000, 0x47800000, 0x38800000, 0x387FE000, 0x33800000, 0x33800001,
    0x33000000, 0x33000001, 0x32FFFFFF, 0x34400000, 0x3F801000, 0x3F803000, 0x3F802000, 0x3F802001,
]
gen = torch.Generator().manual_seed(20240611)
random_bits = torch.randint(0, 2 ** 32, (3000,), generator=gen, dtype=torch.int64)
# Bias towards exponents where f16 is interesting (2^-30 .. 2^20).
exponents = torch.randint(97, 148, (3000,), generator=gen, dtype=torch.int64)
random_bits = (random_bits & 0x807FFFFF) | (exponents << 23)
inputs = edge_bits + random_bits.tolist()
as_f32 = torch.tensor([b - 2 ** 32 if b >= 2 ** 31 else b for b in inputs], dtype=torch.int32).view(torch.float32)
bf16 = (as_f32.to(torch.bfloat16).view(torch.int16).to(torch.int32) & 0xFFFF).tolist()
f16 = (as_f32.to(torch.float16).view(torch.int16).to(torch.int32) & 0xFFFF).tolist()
with open("conversions.json", "w") as f:
    json.dump({"float32_bits": inputs, "bf16_bits": bf16, "f16_bits": f16}, f)
    f.write("\n")
