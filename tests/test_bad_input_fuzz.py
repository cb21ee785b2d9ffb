"""Fuzzing the bad-input contract of `build.py run` (issue 19): hypothesis-made vector files.

Every case must either succeed (and then the output is the golden model's for the input as read)
or be refused with exactly one `error: ...` line, exit status 2, no output file and no temporary
file left; never a traceback, never the input overwritten. Cases: shapes, dtypes, ranges,
missing and extra keys, corrupted and foreign zips, pickled object arrays, a .npy renamed .npz.
By default a few hundred cases; `-m slow` runs thousands.
"""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lapa.cli import main
from lapa.config import PREDICTORS, ArithConfig
from lapa.vectors import INPUT_KEYS, arith_to_arrays

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid(rng, predictor):
    L, D, dh = int(rng.integers(1, 6)), int(rng.integers(1, 7)), 2 * int(rng.integers(1, 3))
    arith = ArithConfig(predictor=predictor, topk_k=int(rng.integers(1, 8)), rope=bool(rng.integers(0, 2)))
    data = {"x": rng.integers(-128, 128, (L, D)).astype(np.int8),
            "wq": rng.integers(-128, 128, (2, D, dh)).astype(np.int8),
            "wk": rng.integers(-128, 128, (1, D, dh)).astype(np.int8),
            "wv": rng.integers(-128, 128, (1, D, dh)).astype(np.int8), **arith_to_arrays(arith)}
    return data


_DTYPES = [np.int8, np.int16, np.int64, np.uint8, np.float32, np.bool_]


@st.composite
def mutated_files(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = _valid(rng, draw(st.sampled_from(PREDICTORS)))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(data) + ["mask", "extra", "o"]))
        op = draw(st.sampled_from(["drop", "dtype", "shape", "value", "huge", "extra", "empty"]))
        if op == "drop":
            data.pop(key, None)
        elif op == "dtype" and key in data:
            data[key] = data[key].astype(draw(st.sampled_from(_DTYPES)))
        elif op == "shape" and key in data:
            data[key] = np.resize(data[key], draw(st.lists(st.integers(0, 5), min_size=0, max_size=4)))
        elif op == "value" and key in data:
            data[key] = np.asarray(draw(st.integers(-2**40, 2**40)), dtype=np.int64)
        elif op == "huge":
            data["x"] = np.zeros((70000, 1), dtype=np.int8)
        elif op == "extra":
            data[key] = np.zeros(3, dtype=np.int64)
        elif op == "empty" and key in data:
            data[key] = np.zeros((0,) * max(data[key].ndim, 1), dtype=data[key].dtype)
    buf = io.BytesIO()
    np.savez(buf, **data)
    raw = buf.getvalue()
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip", "foreign", "pickle", "npy"]))
    if damage == "truncate":
        raw = raw[:draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "flip":
        i = draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:]
    elif damage == "foreign":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("readme.txt", "not an array")
            zf.writestr("x.npy", b"\x93NUMPY garbage")
        raw = buf.getvalue()
    elif damage == "pickle":
        buf = io.BytesIO()
        np.savez(buf, **{**data, "x": np.array([{"a": 1}, 2], dtype=object)})
        raw = buf.getvalue()
    elif damage == "npy":
        buf = io.BytesIO()
        np.save(buf, data.get("x", np.zeros(3, np.int8)))
        raw = buf.getvalue()
    elif damage == "none" and draw(st.booleans()):
        raw = pickle.dumps(data) if draw(st.booleans()) else raw
    return raw


def _check_contract(raw, tmp_path, capsys):
    src = tmp_path / "in.npz"
    src.write_bytes(raw)
    out = tmp_path / "out.npz"
    if out.exists():
        out.unlink()
    code = main(["run", str(src), str(out), "--quiet"])
    captured = capsys.readouterr()
    assert src.read_bytes() == raw, "the input was changed"
    assert not list(tmp_path.glob(".tmp-*")), "a temporary file was left behind"
    if code == 0:
        assert out.exists()
        with np.load(out) as got:
            assert {"mask", "o", "probs", "key_needed"} <= set(got.files)
        return "ok"
    assert code == 2, code
    lines = [ln for ln in captured.err.splitlines() if not ln.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert not out.exists()
    return "refused"


@FAST
@given(raw=mutated_files())
def test_vector_file_fuzz(raw, tmp_path, capsys):
    _check_contract(raw, tmp_path, capsys)


@pytest.mark.slow
@SLOW
@given(raw=mutated_files())
def test_vector_file_fuzz_long(raw, tmp_path, capsys):
    _check_contract(raw, tmp_path, capsys)


@pytest.mark.parametrize("kind", ["foreign", "pickled", "text", "npy", "folder"])
def test_named_bad_files(kind, tmp_path, capsys):
    src = tmp_path / "in.npz"
    if kind == "foreign":
        with zipfile.ZipFile(src, "w") as zf:
            zf.writestr("notes.txt", "hello")
    elif kind == "pickled":
        np.savez(src, x=np.array([{"a": 1}], dtype=object))
    elif kind == "text":
        src.write_text("x = 1\n")
    elif kind == "npy":
        np.save(tmp_path / "a.npy", np.zeros(3, np.int8))
        os.replace(tmp_path / "a.npy", src)
    else:
        src.mkdir()
    assert main(["run", str(src), str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    want = {"foreign": "member 'notes.txt' is not an .npy array", "pickled": "holds Python objects",
            "text": "not an .npz archive", "npy": "not an .npz archive", "folder": "is a folder"}[kind]
    assert want in err and err.count("\n") == 1


def test_unknown_keys_warned(tmp_path, capsys):
    data = _valid(np.random.default_rng(0), "lapa")
    src = tmp_path / "in.npz"
    np.savez(src, **data, mask=np.zeros((2, 2), bool), bogus=np.int64(1))
    assert main(["run", str(src), str(tmp_path / "o.npz"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "'bogus'" in err and "'mask'" in err and err.count("\n") == 1
    assert set(INPUT_KEYS) >= {"x", "wq", "predictor", "topk_k"}


@pytest.mark.parametrize("target", ["same", "folder", "slash", "empty", "missing_dir", "readonly"])
def test_bad_output_paths(target, tmp_path, capsys):
    data = _valid(np.random.default_rng(1), "dense")
    src = tmp_path / "in.npz"
    np.savez(src, **data)
    before = src.read_bytes()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    out = {"same": str(src), "folder": str(tmp_path), "slash": str(tmp_path / "new") + "/", "empty": "",
           "missing_dir": str(tmp_path / "no" / "o.npz"), "readonly": str(ro / "o.npz")}[target]
    try:
        if target == "readonly" and os.access(ro, os.W_OK):
            pytest.skip("running as a user that ignores permissions")
        assert main(["run", str(src), out]) == 2
    finally:
        ro.chmod(0o700)
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert src.read_bytes() == before and not list(ro.iterdir())


def test_outputs_get_normal_permissions(tmp_path):
    data = _valid(np.random.default_rng(2), "lapa")
    src = tmp_path / "in.npz"
    np.savez(src, **data)
    old = os.umask(0o022)
    try:
        assert main(["run", str(src), str(tmp_path / "o.npz"), "--quiet"]) == 0
        assert main(["example", str(tmp_path / "e.npz"), "--seq-len", "3", "--d-model", "4", "--head-dim", "2",
                     "--n-heads", "1", "--n-kv-heads", "1"]) == 0
    finally:
        os.umask(old)
    for name in ("o.npz", "e.npz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
