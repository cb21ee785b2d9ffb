"""The register contract: one table of the SPEC section 5 and 8 parameters.

Every parameter is one `Param` row of `PARAMS`: its SPEC name, default and range, the register /
port width derived from the range, the ERROR code that refuses it at start, and its consumers
(the blocks that read it). Everything else is derived from this table:

- `lapa.config.ArithConfig`: its fields, defaults and range checks;
- `rtl.soc.regmap.register_map`: one register per parameter that a built block consumes (per-round
  parameters one per round, `round_bits` packed with the round count), reset to the default;
- `rtl.soc.config_check.ConfigCheck`: the start-time range checks, each under its `error` code;
- the block ports (`rtl.speculation.pea`, `rtl.speculation.ddf`, `rtl.speculation.peb`, `rtl.execution.requant`, `rtl.execution.softmax`, the units'
  config layouts), through `width_of`; `rtl.top` feeds them from the registers of the same width,
  so no legal value can be truncated.

A parameter whose consumers are all unbuilt (`CONSUMERS[...]` is None; since issue 14 every
consumer is built) is validated by `ArithConfig` and carried by the vector files and the golden
model only; it gets a register as soon as one of its consumers is built. `python -m lapa.fields`
prints the table with what is derived from it. The module imports nothing of the project, so the
hardware library and the host side can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_ROUNDS", "ROUND_BITS_SUM", "ROUND_COUNT_WIDTH", "ROUNDS_PARAM", "CONSUMERS", "Param", "PARAMS", "param",
           "width_of", "consumed_by", "registered", "round_field", "describe"]

MAX_ROUNDS = 4                              # SPEC 5: round_bits holds 1..4 slices
ROUND_BITS_SUM = 8                          # SPEC 5: the slices sum to 8
ROUND_COUNT_WIDTH = MAX_ROUNDS.bit_length()  # R = 1..MAX_ROUNDS (ROUND_BITS.n_rounds)
ROUNDS_PARAM = "round_bits"                 # its length is R; the other per-round rows follow it

# Who reads a parameter: a built block (what it is), or None for hardware not built yet.
CONSUMERS = {
    "speculation": "rtl.speculation.unit.SpeculationUnit config (PEA, RoPE, PEB, DDF)",
    "execution": "rtl.execution.unit.ExecutionUnit config (requant, RoPE, softmax, A.V)",
    "host": "host.job (RoPE table, weight LO codes); the register keeps it for the record",
    "predictor_slot": "rtl.soc.config_check.ConfigCheck (the job's predictor against the one generated)",
    "sanger": "rtl.predictors.exact.SangerPredictor (its softmax scale and threshold)",
    "topk": "rtl.predictors.exact.TopKPredictor (keys kept per row)",
}


@dataclass(frozen=True)
class Param:
    """One SPEC parameter (see module docstring). `lo`..`hi` is the SPEC range of an integer
    (of one entry, for a per-round parameter); a `flag` is 0/1 (a bool); `choices` an enumeration
    (the register holds the index). `hi_pow2_of`: the bound is 2^(that parameter), `hi` its
    largest value. `gate`: the hardware reads (and checks) it only when that flag is 1."""

    name: str
    default: object
    lo: int = 0
    hi: int = 1
    consumers: tuple = ()
    error: str = ""
    doc: str = ""
    flag: bool = False
    choices: tuple = ()
    per_round: bool = False
    stem: str = ""
    hi_pow2_of: str = ""
    gate: str = ""
    section: int = 5

    @property
    def width(self) -> int:
        """Bits of an unsigned register field or port that holds every legal value."""
        top = len(self.choices) - 1 if self.choices else self.hi
        return max(1, top.bit_length())

    @property
    def reg_hi(self) -> int:
        """The largest legal register value (the index of the last choice for an enumeration)."""
        return len(self.choices) - 1 if self.choices else self.hi

    @property
    def reg_lo(self) -> int:
        return 0 if self.choices else self.lo

    @property
    def has_register(self) -> bool:
        return any(CONSUMERS[c] for c in self.consumers)

    @property
    def needs_check(self) -> bool:
        """Whether the register can hold a value outside the SPEC range."""
        return self.reg_lo > 0 or self.reg_hi < (1 << self.width) - 1 or bool(self.hi_pow2_of)

    def encode(self, value) -> int:
        """The register value of a SPEC value."""
        return self.choices.index(value) if self.choices else int(value)

    def decode(self, raw: int):
        """The SPEC value of a legal register value."""
        if self.choices:
            return self.choices[raw]
        return bool(raw) if self.flag else raw

    def range_text(self) -> str:
        if self.choices:
            return " / ".join(self.choices)
        if self.flag:
            return "0/1"
        if self.hi_pow2_of:
            hi = f"2^{self.hi_pow2_of}"
        elif self.hi >= 1024 and self.hi & (self.hi - 1) == 0:
            hi = f"2^{self.hi.bit_length() - 1}"
        elif self.hi >= 1024 and self.hi & (self.hi + 1) == 0:
            hi = f"2^{self.hi.bit_length()}-1"
        else:
            hi = str(self.hi)
        return f"{self.lo}..{hi}"


def _requant(t):
    return (Param(f"m_{t}", 1, 1, 65535, ("execution",), "MULT", "requant multiply-shift (SPEC 4.1)"),
            Param(f"n_{t}", 8, 0, 47, ("execution",), "SHIFT_RANGE", "requant multiply-shift (SPEC 4.1)"))


# The table, in SPEC 5 order then SPEC 8 (ArithConfig's field order).
PARAMS = (
    Param("causal", True, flag=True, consumers=("speculation",), doc="1: decoder attention (s <= t)"),
    Param("rope", False, flag=True, consumers=("speculation", "execution"), doc="1: integer RoPE (SPEC 3a)"),
    Param("rope_base", 10000, 1, 2**20, ("host",), "ROPE", "RoPE base, 1..2^20", gate="rope"),
    Param("pos0", 0, 0, 2**16, ("host",), "ROPE", "position of token 0", gate="rope"),
    Param("ddf_mode", "range", choices=("range", "margin"), consumers=("speculation",), doc="0 range, 1 margin"),
    Param("round_bits", (4, 4), 1, ROUND_BITS_SUM, ("speculation",), "ROUND_BITS", "bits of round",
          per_round=True, stem="b"),
    Param("round_eta", (128, 128), 0, 2**8, ("speculation",), "ETA", "eta of round", per_round=True,
          stem="eta", hi_pow2_of="eta_frac_bits"),
    Param("round_margin", (0, 0), 0, 2**31 - 1, ("speculation",), "", "margin of round", per_round=True,
          stem="margin"),
    Param("eta_frac_bits", 8, 1, 8, ("speculation",), "ETA", "fraction bits of eta"),
    Param("w_lo_mode", "round", choices=("floor", "round"), consumers=("host",),
          doc="0 floor, 1 round (weights arrive LO-coded; for the record)"),
    Param("w_lo_mant_bits", 0, 0, 1, ("host",), "", "weight LO mantissa bits (0/1) of the stored codes"),
    Param("sh_qhat", 8, 0, 31, ("speculation",), "", "PEA rounding shift of q_hat"),
    Param("sh_khat", 8, 0, 31, ("speculation",), "", "PEA rounding shift of k_hat"),
    *_requant("q"), *_requant("k"), *_requant("v"), *_requant("o"),
    Param("sm_mult", 256, 1, 65535, ("execution",), "MULT", "softmax scale multiplier"),
    Param("sm_shift", 8, 0, 47, ("execution",), "SHIFT_RANGE", "softmax scale shift"),
    Param("sm_frac_bits", 6, 1, 8, ("execution", "sanger"), "SM_FRAC_BITS", "softmax LUT fraction bits F"),
    Param("predictor", "lapa", choices=("lapa", "dense", "sanger", "topk", "symlo"),
          consumers=("predictor_slot",), error="PREDICTOR", doc="how the mask is obtained (SPEC 8); "
          "a job for another predictor than the one generated (HW_LIMITS.predictor) is refused", section=8),
    Param("sg_mult", 256, 1, 65535, ("sanger",), "MULT", "sanger: softmax scale multiplier", section=8),
    Param("sg_shift", 8, 0, 47, ("sanger",), "SHIFT_RANGE", "sanger: softmax scale shift", section=8),
    Param("sg_thresh", 131, 0, 65535, ("sanger",), "", "sanger: keep threshold (Q0.16)", section=8),
    Param("topk_k", 64, 1, 65536, ("topk",), "TOPK_K", "topk: keys kept per row", section=8),
)

_BY_NAME = {p.name: p for p in PARAMS}


def param(name) -> Param:
    return _BY_NAME[name]


def width_of(*names) -> int:
    """The port width that holds every legal value of each named parameter (a port shared by
    several, e.g. the softmax scale of `sm_*` and of `sg_*`, takes the widest)."""
    return max(_BY_NAME[n].width for n in names)


def consumed_by(consumer, params=PARAMS) -> tuple:
    """The parameters a consumer reads, in table order."""
    return tuple(p for p in params if consumer in p.consumers)


def registered(params=PARAMS) -> tuple:
    """The parameters with a register (a built block consumes them), in table order."""
    return tuple(p for p in params if p.has_register)


def round_field(p: Param, r: int) -> str:
    """The register field of round r (0-based) of a per-round parameter: b1, eta2, margin3, ..."""
    return f"{p.stem}{r + 1}"


def describe(params=PARAMS) -> str:
    """The table as Markdown, with the register and the consumers derived from each row."""
    lines = ["| name | SPEC range | width | register | checked (ERROR) | consumers |",
             "|---|---|---|---|---|---|"]
    for p in params:
        if not p.has_register:
            reg = "none (consumer not built)"
        elif p.per_round:
            reg = (f"ROUND_BITS.b1..b{MAX_ROUNDS}" if p.stem == "b"
                   else f"{p.name.upper()}1..{MAX_ROUNDS}")
        else:
            reg = p.name.upper()
        check = p.error or ("-" if not p.needs_check else "needs a code")
        if p.error and p.gate:
            check += f" (when {p.gate} = 1)"
        users = ", ".join(c if CONSUMERS[c] else f"{c} (not built)" for c in p.consumers)
        lines.append(f"| {p.name} | {p.range_text()}{' per round' if p.per_round else ''} | {p.width} "
                     f"| {reg} | {check} | {users} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(describe(), end="")
