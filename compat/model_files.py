"""Model files built byte by byte for the metadata tests: safetensors files, GGUF files and
pickles (a malicious one, a suspicious one, torch-like zip checkpoints). Plain Python: no
torch, no gguf package, nothing that could run what a pickle names."""

from __future__ import annotations

import io
import json
import struct
import zipfile

# --- safetensors ------------------------------------------------------------------------------

WIDTH = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def safetensors(tensors: list[tuple[str, str, list[int]]], metadata: dict[str, str] | None = None) -> bytes:
    """A valid safetensors file: an 8-byte little-endian header length, the JSON header, then
    each tensor's data (zeros), offsets consecutive in the order given."""
    header: dict = {"__metadata__": metadata if metadata is not None else {"format": "pt"}}
    offset = 0
    for name, dtype, shape in tensors:
        count = 1
        for dim in shape:
            count *= dim
        size = count * WIDTH[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + bytes(offset)


def parameters(tensors: list[tuple[str, str, list[int]]]) -> dict[str, int]:
    """Parameters per dtype: the product of each shape (a scalar counts 1), summed."""
    out: dict[str, int] = {}
    for _, dtype, shape in tensors:
        count = 1
        for dim in shape:
            count *= dim
        out[dtype] = out.get(dtype, 0) + count
    return out


# --- GGUF (version 3) -------------------------------------------------------------------------

GGUF_UINT32, GGUF_STRING, GGUF_ARRAY = 4, 8, 9
GGML_F32 = 0


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(value) -> bytes:
    if isinstance(value, str):
        return struct.pack("<I", GGUF_STRING) + _gguf_string(value)
    if isinstance(value, int):
        return struct.pack("<II", GGUF_UINT32, value)
    if isinstance(value, list):  # of strings
        items = b"".join(_gguf_string(item) for item in value)
        return struct.pack("<IIQ", GGUF_ARRAY, GGUF_STRING, len(value)) + items
    raise TypeError(value)


def gguf(kv: dict, tensors: list[tuple[str, list[int]]]) -> bytes:
    """A GGUF v3 file: header, key-value pairs, tensor infos (F32), data aligned to 32 bytes."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
    for key, value in kv.items():
        out += _gguf_string(key) + _gguf_value(value)
    offset, sizes = 0, []
    for name, dims in tensors:
        out += _gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", GGML_F32, offset)
        count = 1
        for dim in dims:
            count *= dim
        size = (count * 4 + 31) // 32 * 32
        sizes.append(size)
        offset += size
    out += bytes(-len(out) % 32)
    out += bytes(offset)
    return bytes(out)


# --- pickles ----------------------------------------------------------------------------------


def _binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def evil_pickle() -> bytes:
    """What a malicious upload holds: `os.system("echo pwned")` called when loaded
    (protocol 2: GLOBAL `os system`, the argument tuple, REDUCE)."""
    return b"\x80\x02cos\nsystem\n" + _binunicode("echo pwned") + b"\x85R."


def suspicious_pickle() -> bytes:
    """A call of a class neither allowed nor denied: `mymodule.Thing()`."""
    return b"\x80\x02cmymodule\nThing\n)R."


def torch_data_pkl() -> bytes:
    """The pickle torch.save writes for {"weight": tensor of 4 floats} (protocol 2): an
    OrderedDict, the tensor rebuilt by torch._utils._rebuild_tensor_v2 from a FloatStorage
    named by a persistent id."""
    return b"".join(
        [
            b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01",
            _binunicode("weight"),
            b"ctorch._utils\n_rebuild_tensor_v2\nq\x02((",
            _binunicode("storage"),
            b"ctorch\nFloatStorage\nq\x03",
            _binunicode("0"),
            _binunicode("cpu"),
            b"K\x04tQK\x00K\x04\x85K\x01\x85\x89h\x00)RtRs.",
        ]
    )


def torch_zip(data_pkl: bytes) -> bytes:
    """A torch.save zip checkpoint holding `data_pkl` as archive/data.pkl."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", b"little")
        archive.writestr("archive/data/0", b"\x00\x00\x80\x3f" * 4)
        archive.writestr("archive/version", b"3\n")
    return out.getvalue()


TORCH_IMPORTS = {
    ("collections", "OrderedDict", "innocuous"),
    ("torch._utils", "_rebuild_tensor_v2", "innocuous"),
    ("torch", "FloatStorage", "innocuous"),
}
