"""One configuration of the predictors under evaluation (SPEC sections 2, 3, 5 and 8).

Thresholds are given as the paper's float eta (range mode) or as a margin in nats (margin mode),
one per MRSA round; calibration turns them into the integer registers `round_eta`/`round_margin`.
The baselines' own knobs: `sg_prob`, Sanger's keep threshold as a probability (calibrated to
`sg_thresh`), and `topk_keep`, top-k's keys per row as a fraction of L (calibrated to `topk_k`;
None: `topk_k` matched, layer by layer, to the density of LAPA's mask under the same DDF setting).
"""

from __future__ import annotations

from dataclasses import dataclass

from lapa.config import DDF_MODES, LO_MODES
from lapa.errors import UserError
from lapa.fields import MAX_ROUNDS, ROUND_BITS_SUM

__all__ = ["Setting", "parse_floats", "DEFAULT_ROUND_BITS"]

DEFAULT_ROUND_BITS = {1: (8,), 2: (4, 4), 3: (3, 3, 2), 4: (2, 2, 2, 2)}


def parse_floats(text, name):
    """'0.5,0.5' -> (0.5, 0.5), UserError naming the option otherwise."""
    try:
        vals = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise UserError(f"{name} = {text!r}: expected comma-separated numbers") from None
    if not vals:
        raise UserError(f"{name} = {text!r}: expected at least one number")
    return vals


@dataclass(frozen=True)
class Setting:
    """DDF rule and thresholds per round, MRSA slices and the offline weight LO code."""

    ddf_mode: str = "range"
    round_bits: tuple = (4, 4)
    eta: tuple = (0.5, 0.5)
    margin_nats: tuple = (4.0, 4.0)
    w_lo_mode: str = "round"
    w_lo_mant_bits: int = 0
    sg_prob: float = 2e-3
    topk_keep: float | None = None

    def __post_init__(self):
        if self.ddf_mode not in DDF_MODES:
            raise UserError(f"ddf_mode = {self.ddf_mode!r}: must be one of {', '.join(DDF_MODES)}")
        if self.w_lo_mode not in LO_MODES:
            raise UserError(f"w_lo_mode = {self.w_lo_mode!r}: must be one of {', '.join(LO_MODES)}")
        if self.w_lo_mant_bits not in (0, 1):
            raise UserError(f"w_lo_mant_bits = {self.w_lo_mant_bits!r}: must be 0 or 1")
        rb = tuple(self.round_bits)
        if not 1 <= len(rb) <= MAX_ROUNDS or sum(rb) != ROUND_BITS_SUM or min(rb) < 1:
            raise UserError(f"round_bits = {rb}: 1..{MAX_ROUNDS} slices, each >= 1, summing to {ROUND_BITS_SUM}")
        n = len(rb)
        for name in ("eta", "margin_nats"):
            vals = tuple(getattr(self, name))
            if len(vals) == 1:
                vals = vals * n
            if len(vals) != n:
                raise UserError(f"{name} = {vals}: needs {n} values (one per round of round_bits)")
            object.__setattr__(self, name, vals)
        object.__setattr__(self, "round_bits", rb)
        if any(not 0.0 <= e <= 1.0 for e in self.eta):
            raise UserError(f"eta = {self.eta}: each must be in 0..1")
        if any(not 0 <= d < 1e6 for d in self.margin_nats):
            raise UserError(f"margin_nats = {self.margin_nats}: each must be a finite number >= 0")
        if not 0.0 <= self.sg_prob <= 1.0:
            raise UserError(f"sg_prob = {self.sg_prob}: must be a probability in 0..1")
        if self.topk_keep is not None and not 0.0 < self.topk_keep <= 1.0:
            raise UserError(f"topk_keep = {self.topk_keep}: must be in (0, 1]")

    @property
    def n_rounds(self):
        return len(self.round_bits)

    @property
    def threshold(self):
        """The thresholds of the active rule, one per round."""
        return self.eta if self.ddf_mode == "range" else self.margin_nats

    @property
    def label(self):
        """Short text naming the setting, e.g. 'range eta=0.5,0.5 bits=4,4 lo=round/m0'."""
        sym = "eta" if self.ddf_mode == "range" else "delta"
        th = ",".join(f"{v:g}" for v in self.threshold)
        return (f"{self.ddf_mode} {sym}={th} bits={','.join(map(str, self.round_bits))} "
                f"lo={self.w_lo_mode}/m{self.w_lo_mant_bits}")

    def label_for(self, predictor):
        """The label of a record: the knob that predictor reads from this setting."""
        if predictor == "sanger":
            return f"p>={self.sg_prob:g}"
        if predictor == "topk":
            return f"keep={self.topk_keep:g}" if self.topk_keep is not None else f"k matched to lapa {self.label}"
        return self.label

    def to_dict(self):
        return {"ddf_mode": self.ddf_mode, "round_bits": list(self.round_bits), "eta": list(self.eta),
                "margin_nats": list(self.margin_nats), "w_lo_mode": self.w_lo_mode,
                "w_lo_mant_bits": self.w_lo_mant_bits, "sg_prob": self.sg_prob, "topk_keep": self.topk_keep}
