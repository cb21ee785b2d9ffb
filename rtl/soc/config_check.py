"""Start-time check of the job registers (SPEC section 5 ranges and the generated limits).

Combinational: from the register bank's `config` it derives the first ERROR code that applies
(`rtl.soc.regmap.ERROR_CODES`, 0 when the job can run), so the controller refuses a job the
hardware cannot hold instead of computing garbage. The range checks are generated from the
parameter table (`lapa.fields`), the same rows that make `ArithConfig`'s checks and the registers.
"""

from amaranth.hdl import Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lapa.fields import MAX_ROUNDS, PARAMS, ROUND_BITS_SUM, ROUNDS_PARAM, param, registered

from rtl.soc.param_regs import param_register
from rtl.soc.regmap import CONFIG_CODES, ERROR_CODES

__all__ = ["ConfigCheck", "head_groupings"]


def head_groupings(n_heads):
    """Every (H, Hkv) a design for `n_heads` query heads runs: H <= n_heads, Hkv divides H."""
    return [(h, g) for h in range(1, n_heads + 1) for g in range(1, h + 1) if h % g == 0]


class ConfigCheck(wiring.Component):
    """Config registers in, ERROR code out (0 = accepted). The range checks are the rows of
    `params` (`lapa.fields.PARAMS`) that have a register: a value below `lo` or above `hi` (or
    2^`hi_pow2_of`) is refused under the row's `error` code, a per-round value only in the rounds
    in use, a gated one only when its flag is 1; plus the round rule (1..max_rounds slices summing
    to ROUND_BITS_SUM), the job's length and heads against the generated limits, and (when the
    table's `predictor` row has a register) the job's PREDICTOR against the generated `predictor`:
    any other is refused under PREDICTOR."""

    def __init__(self, config_layout, *, max_seq_len, n_heads, max_rounds, predictor="lapa", params=PARAMS):
        self.max_seq_len, self.n_heads, self.max_rounds = max_seq_len, n_heads, max_rounds
        self.predictor = predictor
        self.params = registered(params)
        for p in self.params:
            if p.needs_check and p.error not in CONFIG_CODES:
                raise ValueError(f"parameter {p.name}: its register can hold values outside "
                                 f"{p.range_text()}, and error = {p.error!r} is no config error code")
        super().__init__({"config": In(config_layout), "error": Out(4)})

    def _rounds(self, p):
        """The register of each round of per-round parameter `p`."""
        return [param_register(self.config, p, r) for r in range(MAX_ROUNDS)]

    def _out_of_range(self, p, v):
        """Whether register value `v` of row `p` is outside its SPEC range."""
        bad = Const(0, 1)
        if p.reg_lo > 0:
            bad = bad | (v < p.reg_lo)
        if p.hi_pow2_of:
            bad = bad | (v > (Const(1, 1) << self.config[p.hi_pow2_of]))
        elif p.reg_hi < (1 << p.width) - 1:
            bad = bad | (v > p.reg_hi)
        return bad

    def _checks(self):
        """(code name, condition that refuses the job), in priority order."""
        c = self.config
        heads_ok = 0
        for h, g in head_groupings(self.n_heads):
            heads_ok = heads_ok | ((c.heads.n_heads == h) & (c.heads.n_kv_heads == g))
        n = c.round_bits.n_rounds
        used = [n > r for r in range(MAX_ROUNDS)]
        bad = {"SEQ_LEN": (c.seq_len == 0) | (c.seq_len > self.max_seq_len), "HEADS": ~heads_ok}
        slices = self._rounds(param(ROUNDS_PARAM))
        total = sum(s & u.replicate(len(s)) for s, u in zip(slices, used))
        bad["ROUND_BITS"] = (n == 0) | (n > self.max_rounds) | (total != ROUND_BITS_SUM)
        for p in self.params:
            if not p.needs_check:
                continue
            if p.per_round:
                cond = 0
                for u, v in zip(used, self._rounds(p)):
                    cond = cond | (u & self._out_of_range(p, v))
            else:
                cond = self._out_of_range(p, param_register(c, p))
            if p.gate:
                cond = c[p.gate] & cond
            bad[p.error] = bad.get(p.error, 0) | cond
        pred = param("predictor")
        if pred in self.params:
            bad[pred.error] = bad.get(pred.error, 0) | (param_register(c, pred) != pred.encode(self.predictor))
        return sorted(bad.items(), key=lambda kv: ERROR_CODES[kv[0]])

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.error.eq(ERROR_CODES["NONE"])
        for name, bad in reversed(self._checks()):  # the first failing check wins
            with m.If(bad):
                m.d.comb += self.error.eq(ERROR_CODES[name])
        return m
