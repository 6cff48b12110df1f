"""kura's pickle scan against picklescan (PyPI, pinned in requirements.txt), file by file.

The corpus is generated here with plain Python (no torch): torch-like checkpoints (zip with
archive/data.pkl, zip64, deflated members, the legacy format), __reduce__ payloads, STACK_GLOBAL
fed through the memo, truncated and concatenated pickles, numpy arrays, archives. Each file goes
through picklescan's `scan_file_path` and through kura's scanner (`KURA_SCAN_CMD`, split on
spaces; default `<KURA_BIN> scan`), which prints one JSON line of facts per file. Per file the
two must agree on the set of (module, name, safety) imports and on whether the file is
dangerous. Where kura deliberately differs, the case says what kura reports instead, and why.

No kura server is started: the scanner reads local files.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shlex
import struct
import subprocess
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from picklescan.scanner import SafetyLevel, scan_file_path

REPO_ROOT = Path(__file__).resolve().parent.parent
TORCH_MAGIC = 0x1950A86A20F9469CFC6C


def _scan_command() -> list[str]:
    raw = os.environ.get("KURA_SCAN_CMD")
    if raw:
        return shlex.split(raw)
    # The same binary conftest.py starts as the server.
    binary = Path(os.environ.get("KURA_BIN") or REPO_ROOT / "target" / "release" / "kura")
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    return [str(binary), "scan"]


# --- pickles written opcode by opcode -------------------------------------------------------


def _binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def torch_data_pkl() -> bytes:
    """What torch.save pickles (protocol 2): an OrderedDict of one tensor, rebuilt by
    torch._utils._rebuild_tensor_v2 from a FloatStorage named by a persistent id."""
    return b"".join(
        [
            b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01",
            _binunicode("weight"),
            b"q\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((",
            _binunicode("storage"),
            b"q\x04ctorch\nFloatStorage\nq\x05",
            _binunicode("0"),
            _binunicode("cpu"),
            b"K\x04tq\x06QK\x00K\x04\x85q\x07K\x01\x85q\x08\x89h\x00)Rq\x09tq\x0aRq\x0bs.",
        ]
    )


class Reduce:
    """An object that pickles as a call of `func(*args)` (what a malicious upload holds)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def os_system(protocol: int = 4) -> bytes:
    return pickle.dumps(Reduce(os.system, "echo pwned"), protocol=protocol)


def memo_stack_global_protocol4() -> bytes:
    """STACK_GLOBAL whose module and name come back from the memo (MEMOIZE, BINGET)."""
    ops = [b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94", b"\x8c\x08harmless\x94\x8c\x04name\x94\x93\x94"]
    ops.append(b"0h\x00h\x01\x93\x94(\x8c\x02idtR.")
    return b"".join(ops)


def memo_stack_global_protocol2() -> bytes:
    """The same through BINPUT and BINGET."""
    return b"\x80\x02" + _binunicode("subprocess") + b"q\x00" + _binunicode("Popen") + b"q\x01Nh\x00h\x01\x93N\x85R."


def memoize_overwrites_puts() -> bytes:
    """BINPUT 2 and 3 hold harmless names; MEMOIZE writes at the memo's length (2, then 3 after
    BINPUT 0), overwriting them: BINGET 2 and 3 then read os and system, as pickle.load does."""
    ops = [b"\x80\x04\x8c\x0bcollectionsq\x02\x8c\x0bOrderedDictq\x03", b"\x8c\x02os\x94\x8c\x03padq\x00"]
    return b"".join(ops + [b"\x8c\x06system\x94h\x02h\x03\x93."])


def second_pickle_own_memo() -> bytes:
    """Two pickles: the first memoizes harmless names at 0 and 1; the second memoizes os and
    system (MEMOIZE: at 0 and 1 of its own memo, as pickle.load called again starts one) and
    reads 0 and 1. picklescan keeps one memo for the stream and reads the harmless names."""
    first = b"\x80\x02\x8c\x0bcollectionsq\x00\x8c\x0bOrderedDictq\x01N."
    return first + b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93."


def stack_global_not_a_string() -> bytes:
    return b"\x80\x04K\x01\x8c\x06system\x93."


def legacy_torch(main: bytes) -> bytes:
    """torch's pre-1.6 format: magic number, protocol version, system info, the object, the
    storage keys, then raw storage bytes (here ones that would read as a GLOBAL)."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    parts = [pickle.dumps(TORCH_MAGIC, protocol=2), pickle.dumps(1001, protocol=2), pickle.dumps(sys_info, protocol=2)]
    parts += [main, pickle.dumps(["0"], protocol=2), struct.pack("<q", 4), b"cos\nsystem\n."]
    return b"".join(parts)


# --- archives ---------------------------------------------------------------------------------


def zip_archive(members: list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # a duplicate name is a case of its own
        for name, data, method in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


def torch_zip(data_pkl: bytes, method: int = zipfile.ZIP_STORED) -> bytes:
    return zip_archive(
        [
            ("archive/data.pkl", data_pkl, method),
            ("archive/byteorder", b"little", zipfile.ZIP_STORED),
            ("archive/data/0", b"\x00\x00\x80\x3f" * 4, zipfile.ZIP_STORED),
            ("archive/version", b"3\n", zipfile.ZIP_STORED),
        ]
    )


def zip64_archive(members: list[tuple[str, bytes]]) -> bytes:
    """Stored members with every size and offset in zip64 extra fields and zip64 end records,
    as torch writes big checkpoints (Python only does so past 4 GiB)."""
    out, central = bytearray(), bytearray()
    for name, data in members:
        offset, raw = len(out), name.encode()
        crc = zipfile.crc32(data)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0, 0, 0, 0, crc, len(data), len(data), len(raw), 0)
        out += raw + data
        extra = struct.pack("<2H3Q", 1, 24, len(data), len(data), offset)
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
            len(raw), len(extra), 0, 0, 0, 0, 0xFFFFFFFF,
        )
        central += raw + extra
    start, count = len(out), len(members)
    out += central
    record = len(out)
    out += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), start)
    out += struct.pack("<4sLQL", b"PK\x06\x07", 0, record, 1)
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


# --- the corpus -------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    data: bytes
    # What kura reports where it deliberately differs from picklescan (else: the same).
    kura_extra: frozenset = frozenset()
    kura_missing: frozenset = frozenset()
    why: str = ""


def corpus() -> list[Case]:
    evil = os_system()
    evil_object = np.empty(1, dtype=object)
    evil_object[0] = Reduce(os.system, "echo pwned")
    duplicate = zip_archive(
        [("archive/data.pkl", evil, zipfile.ZIP_STORED), ("archive/data.pkl", torch_data_pkl(), zipfile.ZIP_STORED)]
    )
    prepended = evil + torch_zip(torch_data_pkl())
    posix_system = ("posix", "system", "dangerous")
    tensor = b"\x00\x00\x80\x3f" * 4
    return [
        Case("torch-stored/pytorch_model.bin", torch_zip(torch_data_pkl())),
        Case("torch-deflated/model.pt", torch_zip(evil, zipfile.ZIP_DEFLATED)),
        Case("torch-zip64/model.ckpt", zip64_archive([("archive/data.pkl", torch_data_pkl()), ("data/0", tensor)])),
        Case("torch-legacy/old.pth", legacy_torch(torch_data_pkl())),
        Case("torch-legacy-evil/old.bin", legacy_torch(evil)),
        Case("reduce/os_system.pkl", evil),
        Case("reduce/os_system_protocol0.pkl", os_system(0)),
        Case("reduce/os_system_named.bin", evil),
        Case("reduce/eval.pickle", pickle.dumps(Reduce(eval, "1+1"))),
        Case("reduce/exec.dat", pickle.dumps(Reduce(exec, "pass"), protocol=2)),
        Case("reduce/popen.joblib", pickle.dumps(Reduce(subprocess.Popen, ["true"]))),
        Case("memo/protocol4.pkl", memo_stack_global_protocol4()),
        Case("memo/protocol2.pkl", memo_stack_global_protocol2()),
        Case("memo/not_a_string.pkl", stack_global_not_a_string()),
        Case("memo/memoize_overwrites.pkl", memoize_overwrites_puts()),
        Case("truncated/after_import.pkl", evil[:-4]),
        Case("truncated/before_import.pkl", evil[:3]),
        Case("concatenated/bad_second.pkl", pickle.dumps(1) + evil),
        Case("suspicious/random_module.pkl", b"\x80\x02crandom_module\nsome_function\n)R."),
        Case("numpy/object.npy", npy_bytes(evil_object)),
        Case("numpy/plain.npy", npy_bytes(np.arange(12, dtype=np.float32))),
        Case("numpy/arrays.npz", zip_archive([("a.npy", npy_bytes(evil_object), zipfile.ZIP_DEFLATED)])),
        Case("numpy/data.pkl", pickle.dumps({"w": np.arange(3)}, protocol=2)),
        Case("raw/ggml-model.bin", b"lmgg\x01\x00\x00\x00" + bytes(range(256)) * 4),
        Case("archive/models.zip", zip_archive([("inner/evil.pkl", evil, zipfile.ZIP_DEFLATED), ("a.txt", b"hi", 0)])),
        Case(
            "differs/prepended.pkl",
            prepended,
            kura_extra=frozenset({posix_system}),
            why="pickle.load runs the pickle before the archive; picklescan reads only the zip members",
        ),
        Case(
            "differs/second_pickle_own_memo.pkl",
            second_pickle_own_memo(),
            kura_extra=frozenset({("os", "system", "dangerous")}),
            why="pickle.load called once per pickle starts a memo for each; picklescan keeps one for the stream",
        ),
        Case(
            "differs/duplicate_names.pt",
            duplicate,
            kura_extra=frozenset({posix_system}),
            why="picklescan opens members by name, so it scans the last of two same-named members twice",
        ),
    ]


# --- the two scanners -------------------------------------------------------------------------


def picklescan_view(path: Path):
    """(imports, dangerous, error) as picklescan reports them; error: it raised or scan_err."""
    try:
        result = scan_file_path(str(path))
    except Exception as e:  # picklescan raises on some malformed inputs
        return frozenset(), False, repr(e)
    imports = frozenset((g.module, g.name, g.safety.value) for g in result.globals)
    dangerous = any(g.safety == SafetyLevel.Dangerous for g in result.globals)
    return imports, dangerous, "scan error" if result.scan_err else None


def kura_views(paths: list[Path]) -> dict[str, dict]:
    run = subprocess.run(_scan_command() + [str(p) for p in paths], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    return {line["path"]: line["facts"] for line in lines}


def kura_view(facts: dict | None):
    pickle_facts = (facts or {}).get("pickle") or {}
    imports = frozenset((i["module"], i["name"], i["safety"]) for i in pickle_facts.get("imports", []))
    error = pickle_facts.get("error") or (facts or {}).get("error")
    return imports, pickle_facts.get("highest") == "dangerous", error


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("pickles")
    cases = corpus()
    paths = []
    for case in cases:
        path = root / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
        paths.append(path)
    kura = kura_views(paths)
    return [(case, picklescan_view(path), kura_view(kura[str(path)])) for case, path in zip(cases, paths)]


def test_the_corpus_is_what_it_claims(scanned):
    """The oracle itself sees what each case was built to show."""
    found = {case.name: ps for case, ps, _ in scanned}
    assert found["torch-stored/pytorch_model.bin"][0] == {
        ("collections", "OrderedDict", "innocuous"),
        ("torch._utils", "_rebuild_tensor_v2", "innocuous"),
        ("torch", "FloatStorage", "innocuous"),
    }
    assert found["memo/protocol4.pkl"][0] == {("harmless", "name", "suspicious"), ("os", "system", "dangerous")}
    assert ("subprocess", "Popen", "dangerous") in found["memo/protocol2.pkl"][0]
    assert ("unknown", "system", "dangerous") in found["memo/not_a_string.pkl"][0]
    assert found["memo/memoize_overwrites.pkl"][0] == {("os", "system", "dangerous")}
    assert ("random_module", "some_function", "suspicious") in found["suspicious/random_module.pkl"][0]
    assert found["truncated/after_import.pkl"][2] == "scan error"
    assert found["numpy/plain.npy"][0] == frozenset()
    for name in ["torch-deflated/model.pt", "torch-legacy-evil/old.bin", "numpy/object.npy", "numpy/arrays.npz"]:
        assert found[name][1], f"{name} is dangerous"


@pytest.mark.parametrize("index", range(len(corpus())), ids=[case.name for case in corpus()])
def test_kura_agrees_with_picklescan(scanned, index):
    case, (ps_imports, ps_dangerous, ps_error), (kura_imports, kura_dangerous, kura_error) = scanned[index]
    expected = (ps_imports | case.kura_extra) - case.kura_missing
    assert kura_imports == expected, case.why or "the same imports as picklescan"
    assert kura_dangerous == any(safety == "dangerous" for _, _, safety in expected)
    assert kura_dangerous == ps_dangerous or bool(case.kura_extra), case.why
    if ps_error == "scan error":
        # picklescan found imports, then the stream broke off: kura says the scan is incomplete.
        assert kura_error, "kura reports the broken stream"
