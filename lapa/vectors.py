"""Vector files of SPEC section 6: read with full validation, write atomically."""

from __future__ import annotations

import os
import sys
import tempfile
import tokenize
import zipfile
from typing import NamedTuple

import numpy as np

from .config import HW_RANGES, PREDICTORS, ArithConfig, ConfigError
from .fields import PARAMS
from .errors import UserError

__all__ = ["VectorFileError", "LayerInputs", "load_vectors", "save_npz", "arith_to_arrays",
           "SCALAR_KEYS", "ROUND_KEYS", "PREDICTOR_KEYS", "warn_ignored", "LIMITS", "LO_PATH_KEYS", "TENSOR_KEYS", "INPUT_KEYS"]

# The vector-file keys, from the table of lapa.fields: SPEC 5 names stored as scalars
# (enumerations as their index), the per-round lists, then SPEC 8's predictor and its own
# parameters (sg_* only for sanger, topk_k only for topk: the rows a predictor consumes).
SCALAR_KEYS = tuple(p.name for p in PARAMS if p.section == 5 and not p.per_round)
ROUND_KEYS = tuple(p.name for p in PARAMS if p.per_round)
PREDICTOR_KEYS = tuple(p.name for p in PARAMS if p.section == 8)
_PREDICTOR_ONLY = {p.name: c for p in PARAMS if p.section == 8 for c in p.consumers if c in PREDICTORS}
# The keys of SPEC section 3, which the predictors that do not run it (dense, sanger, topk) may omit.
LO_PATH_KEYS = ("ddf_mode", "w_lo_mode", "w_lo_mant_bits", "sh_qhat", "sh_khat", "eta_frac_bits") + ROUND_KEYS
TENSOR_KEYS = ("x", "wq", "wk", "wv")
INPUT_KEYS = TENSOR_KEYS + SCALAR_KEYS + ROUND_KEYS + PREDICTOR_KEYS
_ENUMS = {p.name: p.choices for p in PARAMS if p.choices}


class VectorFileError(UserError):
    """A vector file that is missing a key, or has a wrong dtype, shape or value."""


class LayerInputs(NamedTuple):
    """The tensors of one vector file and its arithmetic configuration."""

    x: np.ndarray
    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    arith: ArithConfig
    ignored: tuple = ()   # keys of the file that are no input of SPEC 6 (the CLI warns about them)

    @property
    def shape(self):
        """(L, D, dh, H, Hkv); H = Hkv = 1 for 2-D weights."""
        L, D = self.x.shape
        wq = self.wq if self.wq.ndim == 3 else self.wq[None]
        wk = self.wk if self.wk.ndim == 3 else self.wk[None]
        return L, D, wq.shape[2], wq.shape[0], wk.shape[0]


def arith_to_arrays(arith: ArithConfig) -> dict:
    """The SPEC 5 entries of a vector file for `arith`."""
    out = {}
    for key in SCALAR_KEYS:
        val = getattr(arith, key)
        if key in _ENUMS:
            val = _ENUMS[key].index(val)
        out[key] = np.asarray(int(val), dtype=np.int64)
    for key in ROUND_KEYS:
        out[key] = np.asarray(getattr(arith, key), dtype=np.int64)
    # Every SPEC 8 key is written (a file then reads back to the same ArithConfig); a reader
    # requires sg_* only for sanger and topk_k only for topk.
    out["predictor"] = np.asarray(PREDICTORS.index(arith.predictor), dtype=np.int64)
    for key in _PREDICTOR_ONLY:
        out[key] = np.asarray(getattr(arith, key), dtype=np.int64)
    return out


def _scalar(path, data, key, default=None):
    if key not in data:
        if default is not None:
            return default
        raise VectorFileError(f"{path}: missing key '{key}'")
    a = data[key]
    if a.dtype.kind not in "iub":
        raise VectorFileError(f"{path}: key '{key}' has dtype {a.dtype}, expected an integer")
    if a.size != 1 or a.ndim > 1:
        raise VectorFileError(f"{path}: key '{key}' has shape {a.shape}, expected a scalar")
    return int(a.reshape(()))


def _rounds(path, data, key, n, default):
    if key not in data:
        if default is not None:
            return default
        raise VectorFileError(f"{path}: missing key '{key}'")
    a = data[key]
    if a.dtype.kind not in "iu":
        raise VectorFileError(f"{path}: key '{key}' has dtype {a.dtype}, expected an integer array")
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = "[R]" if n is None else f"[{n}] (one per round of round_bits)"
        raise VectorFileError(f"{path}: key '{key}' has shape {a.shape}, expected {want}")
    return tuple(int(v) for v in a)


def _int8(path, data, key, ndims):
    if key not in data:
        raise VectorFileError(f"{path}: missing key '{key}'")
    a = data[key]
    if a.dtype != np.int8:
        raise VectorFileError(f"{path}: key '{key}' has dtype {a.dtype}, expected int8")
    if a.ndim not in ndims:
        raise VectorFileError(f"{path}: key '{key}' has shape {a.shape}, expected "
                              + " or ".join(f"{n}-D" for n in ndims))
    if 0 in a.shape:
        raise VectorFileError(f"{path}: key '{key}' has an empty shape {a.shape}")
    return a


def _enum(path, key, value):
    choices = _ENUMS[key]
    if not 0 <= value < len(choices):
        named = ", ".join(f"{i} ({c})" for i, c in enumerate(choices))
        raise VectorFileError(f"{path}: key '{key}' = {value}: expected one of {named}")
    return choices[value]


def _arith(path, data):
    predictor = _enum(path, "predictor", _scalar(path, data, "predictor", 0))
    lo_path = predictor in ("lapa", "symlo")
    vals = {"predictor": predictor}
    rows = [p for p in PARAMS if p.name in SCALAR_KEYS]
    for p in rows:
        # a gated row (rope_base, pos0) only matters with its flag 1; SPEC 3's keys only for lapa and symlo.
        optional = (p.gate and p.gate in data and _scalar(path, data, p.gate) == 0) \
            or (p.name in LO_PATH_KEYS and not lo_path)
        vals[p.name] = _scalar(path, data, p.name, p.default if optional else None)
    for p in rows:
        if p.choices and not isinstance(vals[p.name], str):
            vals[p.name] = _enum(path, p.name, vals[p.name])
        if p.flag and vals[p.name] not in (0, 1):
            raise VectorFileError(f"{path}: key '{p.name}' = {vals[p.name]}: expected 0 or 1")
    for key, used_by in _PREDICTOR_ONLY.items():
        vals[key] = _scalar(path, data, key, None if predictor == used_by else getattr(ArithConfig, key))
    if lo_path:
        rb = _rounds(path, data, "round_bits", None, None)
        n = len(rb)
        # The list of the DDF mode not in use may be absent: it does not change any output.
        vals["round_bits"] = rb
        vals["round_eta"] = _rounds(path, data, "round_eta", n,
                                    (0,) * n if vals["ddf_mode"] == "margin" else None)
        vals["round_margin"] = _rounds(path, data, "round_margin", n,
                                       (0,) * n if vals["ddf_mode"] == "range" else None)
    else:
        rb = _rounds(path, data, "round_bits", None, ArithConfig.round_bits)
        n = len(rb)
        vals["round_bits"] = rb
        vals["round_eta"] = _rounds(path, data, "round_eta", n, (0,) * n)
        vals["round_margin"] = _rounds(path, data, "round_margin", n, (0,) * n)
    try:
        return ArithConfig(**vals)
    except ConfigError as exc:
        raise VectorFileError(f"{path}: {exc}") from None


# Shape limits of a layer (those of HardwareConfig / `build.py example`): a file beyond them is
# refused from its headers, before any array is read into memory.
LIMITS = {"L": HW_RANGES["max_seq_len"][1], "D": HW_RANGES["d_model"][1], "dh": HW_RANGES["head_dim"][1],
          "heads": HW_RANGES["n_heads"][1]}


def _member_headers(path, zf):
    """{key: (shape, dtype)} of every .npy member, read from the headers only."""
    heads = {}
    for info in zf.infolist():
        name = info.filename
        if not name.endswith(".npy"):
            raise VectorFileError(f"{path}: member '{name}' is not an .npy array")
        key = name[:-4]
        try:
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                reader = {(1, 0): np.lib.format.read_array_header_1_0,
                          (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if reader is None:
                    raise ValueError(f"unsupported .npy version {version}")
                shape, _, dtype = reader(f)
        except (ValueError, SyntaxError, tokenize.TokenError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
            raise VectorFileError(f"{path}: key '{key}' is not a readable .npy array ({exc})") from None
        if dtype.hasobject:
            raise VectorFileError(f"{path}: key '{key}' holds Python objects (pickled data), "
                                  "expected integer numbers")
        heads[key] = (tuple(shape), dtype)
    return heads


def _check_header_shapes(path, heads):
    """Refuse tensors beyond LIMITS (or absurdly large arrays) before reading them."""
    for key, (shape, _) in heads.items():
        if int(np.prod(shape, dtype=np.float64)) > 2**31:
            raise VectorFileError(f"{path}: key '{key}' has shape {shape}: too large")
    names = {"x": ("L", "D"), "wq": ("heads", "D", "dh"), "wk": ("heads", "D", "dh"),
             "wv": ("heads", "D", "dh")}
    for key, dims in names.items():
        if key not in heads:
            continue
        shape = heads[key][0]
        dims = dims[-len(shape):] if len(shape) <= len(dims) else ()
        for dim, n in zip(dims, shape):
            if n > LIMITS[dim]:
                raise VectorFileError(f"{path}: key '{key}' has shape {shape}: {dim} = {n} exceeds "
                                      f"the limit {LIMITS[dim]}")


def _read_npz(path):
    if not os.path.exists(path):
        raise VectorFileError(f"{path}: no such file")
    if os.path.isdir(path):
        raise VectorFileError(f"{path}: is a folder, expected an .npz vector file")
    try:
        if not zipfile.is_zipfile(path):
            raise VectorFileError(f"{path}: not an .npz archive (a zip of .npy arrays)")
        with zipfile.ZipFile(path) as zf:
            heads = _member_headers(path, zf)
            _check_header_shapes(path, heads)
            data = {}
            for key in heads:
                with zf.open(key + ".npy") as f:
                    data[key] = np.lib.format.read_array(f, allow_pickle=False)
            return data
    except VectorFileError:
        raise
    except PermissionError:
        raise VectorFileError(f"{path}: not readable (permission denied)") from None
    except (OSError, ValueError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        raise VectorFileError(f"{path}: not a readable .npz vector file ({exc})") from None


def load_vectors(path) -> LayerInputs:
    """Read and validate a vector file; every refusal is a `VectorFileError` naming the key."""
    path = os.fspath(path)
    data = _read_npz(path)
    arith = _arith(path, data)
    x = _int8(path, data, "x", (2,))
    wq = _int8(path, data, "wq", (2, 3))
    wk = _int8(path, data, "wk", (wq.ndim,))
    wv = _int8(path, data, "wv", (wq.ndim,))
    if wk.shape != wv.shape:
        raise VectorFileError(f"{path}: key 'wv' has shape {wv.shape}, expected the shape of wk {wk.shape}")
    D = x.shape[1]
    for key, w in (("wq", wq), ("wk", wk)):
        if w.shape[-2] != D:
            raise VectorFileError(f"{path}: key '{key}' has shape {w.shape}: its D = {w.shape[-2]} "
                                  f"disagrees with x's D = {D}")
    if wk.shape[-1] != wq.shape[-1]:
        raise VectorFileError(f"{path}: key 'wk' has shape {wk.shape}: its dh = {wk.shape[-1]} "
                              f"disagrees with wq's dh = {wq.shape[-1]}")
    if wq.ndim == 3 and wq.shape[0] % wk.shape[0]:
        raise VectorFileError(f"{path}: key 'wq' has {wq.shape[0]} heads, not a multiple of "
                              f"the {wk.shape[0]} KV heads of 'wk'")
    if arith.rope and wq.shape[-1] % 2:
        raise VectorFileError(f"{path}: key 'wq' has dh = {wq.shape[-1]}, must be even when rope = 1")
    ignored = tuple(sorted(k for k in data if k not in INPUT_KEYS))
    return LayerInputs(x, wq, wk, wv, arith, ignored)


def warn_ignored(path, inputs: LayerInputs):
    """One warning line for the keys of a vector file that no backend reads."""
    if inputs.ignored:
        keys = ", ".join(f"'{k}'" for k in inputs.ignored)
        print(f"warning: {os.fspath(path)}: ignoring {keys}: not inputs of SPEC section 6", file=sys.stderr)


def save_npz(path, arrays: dict):
    """Write an .npz atomically: a temporary file in the same folder, renamed when complete."""
    from .report import check_output_file, publish

    path = os.fspath(path)
    check_output_file(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
