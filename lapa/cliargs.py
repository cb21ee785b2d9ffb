"""Command-line options generated from the configuration dataclasses, so every command shares them."""

from __future__ import annotations

import argparse
import dataclasses

from .config import DDF_MODES, LO_MODES, PREDICTORS, ArithConfig, ConfigError, HardwareConfig, LapaConfig

__all__ = ["add_config_args", "config_from_args", "ordered_int_list", "check_layer_options", "CHOICES"]

CHOICES = {"ddf_mode": DDF_MODES, "w_lo_mode": LO_MODES, "predictor": PREDICTORS}


def ordered_int_list(text):
    """'4,4' -> (4, 4) for per-round options."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip() != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers") from None


# A layer's shape as the commands that make one take it (example, bench): option, lowest, highest.
LAYER_OPTIONS = {"seq_len": ("--seq-len", 1, 65536), "d_model": ("--d-model", 1, 16384),
                 "head_dim": ("--head-dim", 1, 512), "heads": ("--n-heads", 1, 256),
                 "kv_heads": ("--n-kv-heads", 1, 256)}


def check_layer_options(values, lowest=None):
    """Refuse layer-shape options out of range, and query heads that do not group over the KV heads
    (`values`: LAYER_OPTIONS key -> value; `lowest`: a command's own tighter lower bounds)."""
    from .errors import UserError

    for key, v in values.items():
        option, lo, hi = LAYER_OPTIONS[key]
        lo = max(lo, (lowest or {}).get(key, lo))
        if not lo <= v <= hi:
            raise UserError(f"{option} = {v}: out of range, allowed {lo}..{hi}")
    if "heads" in values and "kv_heads" in values and values["heads"] % values["kv_heads"]:
        raise UserError(f"--n-heads = {values['heads']}: must be a multiple of --n-kv-heads = {values['kv_heads']}")


def _option(name):
    return "--" + name.replace("_", "-")


def add_config_args(parser, arith=True, hardware=True, exclude=()):
    """Add one option per config field (`--max-seq-len`, `--round-bits 4,4`, ...), default None.
    `--predictor` is one option with both groups: the predictor generated and the job's
    (`HardwareConfig.predictor` and `ArithConfig.predictor`, `config_from_args`). `exclude`: fields
    a command gives no option for (it keeps their defaults)."""
    groups = []
    if hardware:
        groups.append(("hardware shape", HardwareConfig))
    if arith:
        groups.append(("arithmetic (SPEC section 5)", ArithConfig))
    for title, cls in groups:
        g = parser.add_argument_group(title)
        for f in dataclasses.fields(cls):
            if f.name in exclude or (cls is ArithConfig and hardware and f.name == "predictor"):
                continue   # (the hardware group's --predictor sets both)
            default = f.default
            if isinstance(default, tuple):
                g.add_argument(_option(f.name), type=ordered_int_list, default=None,
                               metavar="N,N", help=f"default {','.join(map(str, default))}")
            elif isinstance(default, bool):
                g.add_argument(_option(f.name), type=int, choices=(0, 1), default=None,
                               help=f"default {int(default)}")
            elif isinstance(default, str):
                what = ("the predictor generated into the predictor slot (and the job's, SPEC 8); "
                        if cls is HardwareConfig and f.name == "predictor" else "")
                g.add_argument(_option(f.name), choices=CHOICES[f.name], default=None,
                               help=f"{what}default {default}")
            else:
                g.add_argument(_option(f.name), type=int, default=None, help=f"default {default}")


def _given(args, cls):
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
            if getattr(args, f.name, None) is not None}


def config_from_args(args, base: LapaConfig | None = None) -> LapaConfig:
    """A validated LapaConfig from the options given (others from `base` or the defaults)."""
    base = base or LapaConfig()
    arith = _given(args, ArithConfig)
    if "round_bits" in arith:
        # Per-round lists not given follow the number of rounds, repeating the first default.
        n = len(arith["round_bits"])
        for key in ("round_eta", "round_margin"):
            arith.setdefault(key, getattr(base.arith, key)[:1] * n)
    hw = _given(args, HardwareConfig)
    try:
        return LapaConfig(arith=dataclasses.replace(base.arith, **arith),
                          hw=dataclasses.replace(base.hw, **hw))
    except ConfigError as exc:
        # "pea_lanes = 16: must divide head_dim = 8": say when the value blamed is a default
        name = str(exc).split(" ", 1)[0]
        if name in {f.name for f in dataclasses.fields(HardwareConfig)} - set(hw) or \
                name in {f.name for f in dataclasses.fields(ArithConfig)} - set(arith):
            raise ConfigError(f"{exc} ({name} is the default; set it with {_option(name)})") from None
        raise
