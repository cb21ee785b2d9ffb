"""The parameters a sweep may set (as an axis or a fixed value), their kinds and defaults.

Hardware parameters are `HardwareConfig`'s fields under their own names (the same as the
`--pea-lanes`-style options of the other commands); the workload is the example layer of
`build.py example` (`seq_len`, `seed`, `causal`, `rope`; its D, dh, H and Hkv are the hardware's);
`predictor` and `setting` (a name from the `[settings]` tables) choose the mask; `ctx`, `windows`
and `layers` the evaluation; `clock_ns`, `block`, `sram_min_bits` and `liberty` the synthesis.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from lapa.config import PREDICTORS, HardwareConfig

__all__ = ["Param", "PARAMS", "HW_KEYS", "SHAPE_KEYS", "WORKLOAD_KEYS", "EVAL_PREDICTORS", "defaults"]

# `build.py eval` evaluates the SPEC 8 predictors and an exact-score oracle; dense is its reference.
EVAL_PREDICTORS = PREDICTORS + ("oracle",)


class Param(NamedTuple):
    """kind: 'int', 'float', 'bool' (0 / 1 or true / false), 'str' or 'path'; `choices` for str."""

    kind: str
    default: object
    choices: tuple = ()
    help: str = ""
    lo: float | None = None    # range checked when the file is read (hardware: by HardwareConfig)
    hi: float | None = None


# HardwareConfig's fields but `predictor`: a sweep's `predictor` axis chooses the masks (every
# predictor of SPEC 8 and the oracle), and its hardware tasks build the lapa accelerator
HW_KEYS = tuple(f.name for f in dataclasses.fields(HardwareConfig) if f.name != "predictor")


def _hardware():
    return {f.name: Param("int", f.default, help="HardwareConfig") for f in dataclasses.fields(HardwareConfig)
            if f.name in HW_KEYS}


PARAMS = {
    **_hardware(),
    "seq_len": Param("int", 128, help="L of the example layer (work, cycles)", lo=1, hi=65536),
    "seed": Param("int", 0, help="seed of the example layer", lo=0, hi=2**32 - 1),
    "causal": Param("bool", True, help="causal mask"),
    "rope": Param("bool", False, help="RoPE"),
    "predictor": Param("str", "lapa", EVAL_PREDICTORS, help="SPEC 8 predictor (oracle: eval only)"),
    "setting": Param("str", "default", help="a [settings.NAME] table; 'default' is build.py eval's"),
    "ctx": Param("int", 1024, help="eval: context length", lo=2, hi=8192),
    "windows": Param("int", 8, help="eval: windows", lo=1, hi=10_000),
    "layers": Param("str", "all", help="eval: layers with predicted masks"),
    "backend": Param("str", "rtl", ("rtl", "model"),
                     help="cycles: the RTL on the C++ harness, or the perf cycle model (sizes too long to simulate)"),
    "clock_ns": Param("float", 10.0, help="synth: clock period", lo=1e-3, hi=1e6),
    "block": Param("str", "all", help="synth: blocks ('all' or comma-separated names)"),
    "sram_min_bits": Param("int", 256, help="synth: smallest SRAM macro", lo=1, hi=2**40),
    "liberty": Param("path", None, help="synth: liberty file (default the OSU 0.18 um cells)"),
}

SHAPE_KEYS = ("d_model", "head_dim", "n_heads", "n_kv_heads")   # the example layer's D, dh, H, Hkv
WORKLOAD_KEYS = SHAPE_KEYS + ("seq_len", "seed", "causal", "rope")


def defaults():
    """Every parameter at its default (`liberty` None: the worker's own OSU 0.18 um file)."""
    return {name: p.default for name, p in PARAMS.items()}
