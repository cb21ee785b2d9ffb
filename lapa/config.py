"""One configuration object for the generator, the golden model and the tests.

`ArithConfig` holds every parameter of SPEC section 5 (what the hardware computes);
`HardwareConfig` holds the shape of the generated hardware (how much of it there is).
`LapaConfig` joins the two. All three are frozen dataclasses validated on construction:
a value out of range raises `ConfigError` naming the parameter, the value and the range.
Derived widths live here too, computed in one place (Gemmini's habit).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import UserError
from .fields import MAX_ROUNDS, PARAMS, ROUND_BITS_SUM, ROUNDS_PARAM, param

__all__ = ["ConfigError", "ArithConfig", "HardwareConfig", "LapaConfig", "config_to_dict", "config_from_dict",
           "DDF_MODES", "LO_MODES", "PREDICTORS", "LO_PREDICTORS", "BUILT_PREDICTORS", "BUS_BITS", "HW_RANGES",
           "signed_width"]

DDF_MODES = param("ddf_mode").choices
LO_MODES = param("w_lo_mode").choices
# SPEC 8: how the mask is obtained; the index is the vector-file code (0 = lapa, ..., 4 = symlo).
PREDICTORS = param("predictor").choices
LO_PREDICTORS = ("lapa", "symlo")  # the predictors that run SPEC section 3 (ALOC, PEA, MRSA, DDF)
# The predictors the generator can build into the predictor slot (`HardwareConfig.predictor`).
BUILT_PREDICTORS = ("lapa", "dense", "sanger", "topk", "symlo")
BUS_BITS = 64  # the accelerator's AXI4 memory word (rtl/top.py)
# HardwareConfig's ranges (the register map sizes the job and limit registers from them)
HW_RANGES = {"d_model": (1, 16384), "head_dim": (2, 512), "max_seq_len": (1, 65536), "n_heads": (1, 256),
             "lanes": (1, 1024), "max_rounds": (1, MAX_ROUNDS)}


class ConfigError(UserError, ValueError):
    """A configuration value (or a vector-file entry) out of its allowed range."""


def _check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} = {value!r}: must be an integer in {lo}..{hi}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} = {value}: out of range, allowed {lo}..{hi}")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} = {value!r}: must be one of {', '.join(map(repr, choices))}")


def _check_tuple(name, value, n, lo, hi):
    if not isinstance(value, tuple):
        raise ConfigError(f"{name} = {value!r}: must be a tuple")
    if len(value) != n:
        raise ConfigError(f"{name} = {value!r}: needs {n} entries (one per round), has {len(value)}")
    for i, v in enumerate(value):
        _check_int(f"{name}[{i}]", v, lo, hi)


def _check_param(cfg, p):
    """Validate (and normalise: flags to bool, lists to tuples) the field of `cfg` for row `p`."""
    v = getattr(cfg, p.name)
    if p.flag:
        if v not in (0, 1, True, False) or isinstance(v, float):
            raise ConfigError(f"{p.name} = {v!r}: must be 0 or 1")
        object.__setattr__(cfg, p.name, bool(v))
    elif p.choices:
        _check_choice(p.name, v, p.choices)
    elif not p.per_round:
        _check_int(p.name, v, p.lo, p.hi)
    else:
        if isinstance(v, list):
            v = tuple(v)
            object.__setattr__(cfg, p.name, v)
        hi = 2 ** getattr(cfg, p.hi_pow2_of) if p.hi_pow2_of else p.hi
        if p.name == ROUNDS_PARAM:
            if not isinstance(v, tuple) or not 1 <= len(v) <= MAX_ROUNDS:
                raise ConfigError(f"round_bits = {v!r}: must hold 1..{MAX_ROUNDS} slices")
            _check_tuple(p.name, v, len(v), p.lo, hi)
            if sum(v) != ROUND_BITS_SUM:
                raise ConfigError(f"round_bits = {v!r}: slices must sum to {ROUND_BITS_SUM}, they sum to {sum(v)}")
        else:
            _check_tuple(p.name, v, len(getattr(cfg, ROUNDS_PARAM)), p.lo, hi)


def signed_width(max_abs: int) -> int:
    """Bits of a two's-complement signal that holds every value in [-max_abs, max_abs]."""
    return max(1, int(max_abs).bit_length()) + 1


class _ArithMethods:
    """The arithmetic parameters of SPEC sections 5 and 8 (names verbatim). The fields, their
    defaults and their ranges are the rows of `lapa.fields.PARAMS`."""

    @property
    def uses_lo_path(self) -> bool:
        """Whether the mask comes from SPEC section 3 (lapa, symlo) and its keys matter."""
        return self.predictor in LO_PREDICTORS

    @property
    def n_rounds(self) -> int:
        """R, the number of MRSA rounds."""
        return len(self.round_bits)

    @property
    def round_cum_bits(self) -> tuple:
        """c_r = b1 + ... + br for every round r."""
        out, c = [], 0
        for b in self.round_bits:
            c += b
            out.append(c)
        return tuple(out)

    def replace(self, **changes) -> "ArithConfig":
        return dataclasses.replace(self, **changes)


def arith_config_class(params=PARAMS, name="ArithConfig"):
    """A frozen dataclass with one field per row of `params` (default: the table's), validated
    on construction; `ArithConfig` is the one of `lapa.fields.PARAMS`."""
    fields = [(p.name, type(p.default), field(default=p.default)) for p in params]

    def post_init(self):
        for p in [p for p in params if not p.per_round] + [p for p in params if p.per_round]:
            _check_param(self, p)   # per-round rows after the scalars their bounds depend on

    cls = dataclasses.make_dataclass(name, fields, bases=(_ArithMethods,), frozen=True,
                                     namespace={"__post_init__": post_init, "__module__": __name__,
                                                "__doc__": _ArithMethods.__doc__})
    return cls


ArithConfig = arith_config_class()


@dataclass(frozen=True)
class HardwareConfig:
    """The shape of the generated hardware: sizes, lane counts and buffer depths, and the SPEC 8
    predictor generated into the predictor slot (`predictor`, one of BUILT_PREDICTORS)."""

    d_model: int = 576
    head_dim: int = 64
    max_seq_len: int = 1024
    n_heads: int = 9
    n_kv_heads: int = 3
    pea_lanes: int = 16
    peb_lanes: int = 16
    mac_rows: int = 8
    mac_cols: int = 8
    av_lanes: int = 8
    max_rounds: int = MAX_ROUNDS
    predictor: str = "lapa"

    def __post_init__(self):
        _check_int("d_model", self.d_model, *HW_RANGES["d_model"])
        _check_int("head_dim", self.head_dim, *HW_RANGES["head_dim"])
        if self.head_dim % 2:
            raise ConfigError(f"head_dim = {self.head_dim}: must be even (RoPE pairs i and i + dh/2)")
        _check_int("max_seq_len", self.max_seq_len, *HW_RANGES["max_seq_len"])
        _check_int("n_heads", self.n_heads, *HW_RANGES["n_heads"])
        _check_int("n_kv_heads", self.n_kv_heads, 1, self.n_heads)
        if self.n_heads % self.n_kv_heads:
            raise ConfigError(f"n_heads = {self.n_heads}: must be a multiple of n_kv_heads = {self.n_kv_heads}")
        for name in ("pea_lanes", "peb_lanes", "mac_rows", "mac_cols", "av_lanes"):
            _check_int(name, getattr(self, name), *HW_RANGES["lanes"])
        _check_int("max_rounds", self.max_rounds, *HW_RANGES["max_rounds"])
        _check_choice("predictor", self.predictor, PREDICTORS)
        if self.predictor not in BUILT_PREDICTORS:
            raise ConfigError(f"predictor = {self.predictor!r}: the generator builds "
                              f"{', '.join(map(repr, BUILT_PREDICTORS))} only (SPEC 8's other predictors "
                              "have no hardware yet)")
        self._check_shape()

    def _check_shape(self):
        """What the generator can tile: every rule of the units and of the memory interface lives
        here, so a configuration that validates is one `build.py verilog` can build."""
        D, dh = self.d_model, self.head_dim
        bus = BUS_BITS // 8
        if D % bus:
            raise ConfigError(f"d_model = {D}: must be a multiple of the {bus}-byte bus word")
        if dh % bus:
            raise ConfigError(f"head_dim = {dh}: must be a multiple of the {bus}-byte bus word")
        for name in ("pea_lanes", "peb_lanes", "av_lanes"):
            if dh % getattr(self, name):
                raise ConfigError(f"{name} = {getattr(self, name)}: must divide head_dim = {dh}")
        if D % self.mac_cols:
            raise ConfigError(f"mac_cols = {self.mac_cols}: must divide d_model = {D}")
        if dh % (self.mac_rows * self.mac_cols):
            raise ConfigError(f"mac_rows * mac_cols = {self.mac_rows * self.mac_cols}: must divide "
                              f"head_dim = {dh}")
        for name, n in (("pea_lanes", self.pea_lanes), ("mac_cols", self.mac_cols),
                        ("mac_rows * mac_cols", self.mac_rows * self.mac_cols), ("av_lanes", self.av_lanes)):
            if n % bus and bus % n:
                raise ConfigError(f"{name} = {n}: its bytes must divide or be a multiple of the "
                                  f"{bus}-byte bus word")

    # Derived widths, in one place.
    @property
    def pea_acc_width(self) -> int:
        """PEA accumulator: D products of |x| <= 128 and an LO code of at most 256."""
        return signed_width(self.d_model * 128 * 256)

    @property
    def peb_acc_width(self) -> int:
        """PEB accumulator: dh products of |qlo| <= 128 and |k_r| <= 128."""
        return signed_width(self.head_dim * 128 * 128)

    @property
    def mac_acc_width(self) -> int:
        """Projection accumulator: D int8 x int8 products."""
        return signed_width(self.d_model * 128 * 128)

    @property
    def score_width(self) -> int:
        """Q.K score: dh int8 x int8 products."""
        return signed_width(self.head_dim * 128 * 128)

    @property
    def mac_array_acc_width(self) -> int:
        """PE Array 1 accumulator: it serves the projections (D products) and Q.K (dh products)."""
        return max(self.mac_acc_width, self.score_width)

    @property
    def av_acc_width(self) -> int:
        """A.V accumulator: a row's probabilities sum to at most 2^16 (SPEC 4.4: each
        P <= E * floor(2^32 / T) / 2^16 and sum E = T), so |sum P * v| <= 2^16 * 128."""
        return signed_width(65536 * 128)

    @property
    def seq_index_width(self) -> int:
        """Bits of a token index 0..max_seq_len-1."""
        return max(1, (self.max_seq_len - 1).bit_length())

    def replace(self, **changes) -> "HardwareConfig":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class LapaConfig:
    """The whole configuration: arithmetic (SPEC section 5) plus hardware shape."""

    arith: ArithConfig = field(default_factory=ArithConfig)
    hw: HardwareConfig = field(default_factory=HardwareConfig)

    def __post_init__(self):
        if not isinstance(self.arith, ArithConfig):
            raise ConfigError(f"arith = {self.arith!r}: must be an ArithConfig")
        if not isinstance(self.hw, HardwareConfig):
            raise ConfigError(f"hw = {self.hw!r}: must be a HardwareConfig")
        if self.arith.n_rounds > self.hw.max_rounds:
            raise ConfigError(f"round_bits has {self.arith.n_rounds} rounds, "
                              f"more than max_rounds = {self.hw.max_rounds}")


def config_to_dict(cfg: LapaConfig) -> dict:
    """Plain-JSON form of a LapaConfig (passed to testbenches through the environment)."""
    return {"arith": dataclasses.asdict(cfg.arith), "hw": dataclasses.asdict(cfg.hw)}


def config_from_dict(d: dict) -> LapaConfig:
    """Inverse of `config_to_dict` (lists become tuples; validation runs again)."""
    arith = {k: tuple(v) if isinstance(v, list) else v for k, v in d.get("arith", {}).items()}
    return LapaConfig(arith=ArithConfig(**arith), hw=HardwareConfig(**d.get("hw", {})))
