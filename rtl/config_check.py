"""Start-time check of the job registers (SPEC section 5 ranges and the generated limits).

Combinational: from the register bank's `config` it derives the first ERROR code that applies
(`rtl.regmap.ERROR_CODES`, 0 when the job can run), so the controller refuses a job the
hardware cannot hold instead of computing garbage.
"""

from amaranth.hdl import Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regmap import ERROR_CODES

__all__ = ["ConfigCheck", "head_groupings"]


def head_groupings(n_heads):
    """Every (H, Hkv) a design for `n_heads` query heads runs: H <= n_heads, Hkv divides H."""
    return [(h, g) for h in range(1, n_heads + 1) for g in range(1, h + 1) if h % g == 0]


class ConfigCheck(wiring.Component):
    """Config registers in, ERROR code out (0 = accepted)."""

    def __init__(self, config_layout, *, max_seq_len, n_heads, max_rounds):
        self.max_seq_len, self.n_heads, self.max_rounds = max_seq_len, n_heads, max_rounds
        super().__init__({"config": In(config_layout), "error": Out(4)})

    def _checks(self):
        """(code name, condition that refuses the job), in priority order."""
        c = self.config
        heads_ok = 0
        for h, g in head_groupings(self.n_heads):
            heads_ok = heads_ok | ((c.heads.n_heads == h) & (c.heads.n_kv_heads == g))
        rb = c.round_bits
        n = rb.n_rounds
        slices = [rb.b1, rb.b2, rb.b3, rb.b4]
        used = [n > r for r in range(4)]
        zero_slice = 0
        total = 0
        for r in range(4):
            zero_slice = zero_slice | (used[r] & (slices[r] == 0))
            total = total + (slices[r] & used[r].replicate(4))
        etas = [c.round_eta1, c.round_eta2, c.round_eta3, c.round_eta4]
        eta_bad = (c.eta_frac_bits == 0) | (c.eta_frac_bits > 8)
        for r in range(4):
            eta_bad = eta_bad | (used[r] & ~eta_bad & (etas[r] > (Const(1, 10) << c.eta_frac_bits)))
        shift_bad = 0
        for name in ("n_q", "n_k", "n_v", "n_o", "sm_shift"):
            shift_bad = shift_bad | (getattr(c, name) > 47)
        mult_bad = 0
        for name in ("m_q", "m_k", "m_v", "m_o", "sm_mult"):
            mult_bad = mult_bad | (getattr(c, name) == 0)
        return [
            ("SEQ_LEN", (c.seq_len == 0) | (c.seq_len > self.max_seq_len)),
            ("HEADS", ~heads_ok),
            ("ROUND_BITS", (n == 0) | (n > self.max_rounds) | zero_slice | (total != 8)),
            ("ETA", eta_bad),
            ("SM_FRAC_BITS", (c.sm_frac_bits == 0) | (c.sm_frac_bits > 8)),
            ("SHIFT_RANGE", shift_bad),
            ("MULT", mult_bad),
            ("ROPE", c.rope & ((c.rope_base == 0) | (c.rope_base > (1 << 20)) | (c.pos0 > (1 << 16)))),
        ]

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.error.eq(ERROR_CODES["NONE"])
        for name, bad in reversed(self._checks()):  # the first failing check wins
            with m.If(bad):
                m.d.comb += self.error.eq(ERROR_CODES[name])
        return m
