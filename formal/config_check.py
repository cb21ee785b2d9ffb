"""ConfigCheck proof: the start-time check accepts exactly the register values that the software
configuration accepts, and names the first failing group with its ERROR code.

The reference is built from lapa/config.py itself, not from the block's code: every legal range
is found by asking ArithConfig / HardwareConfig / LapaConfig which register values they accept
(`legal_interval` bisects a field over its register width and checks the interval's ends and
inner points; `round_bits` and the head groupings are enumerated whole). The wrapper turns those
sets into comparisons on the `config` registers and asserts
`error == first failing group` (SEQ_LEN, HEADS, ROUND_BITS, ETA, SM_FRAC_BITS, SHIFT_RANGE, MULT,
ROPE, PREDICTOR, TOPK_K, as in rtl/regmap.ERROR_CODES) and so `error == 0` exactly when all are legal.

Register fields whose every value is legal (causal, ddf_mode, w_lo_*, sh_*, margins) are not
checked by the block and need no reference. One deliberate difference: ArithConfig checks
`rope_base` and `pos0` even when `rope` = 0; the hardware reads them only with RoPE on, so the
reference ignores them then (a job without RoPE never uses them).

Combinational: k-induction of depth 1 covers every register value.
"""

import itertools

from amaranth.hdl import Assert, Const, Signal

from lapa.config import ArithConfig, ConfigError, HardwareConfig, LapaConfig
from lapa.fields import param
from rtl.soc.config_check import ConfigCheck
from rtl.soc.param_regs import param_register
from rtl.soc.regmap import ERROR_CODES

from .harness import Harness

__all__ = ["ConfigCheckRules", "legal_interval", "legal_round_bits", "legal_heads"]


def _ok(make):
    try:
        make()
    except ConfigError:
        return False
    return True


def legal_interval(name, width, **fixed):
    """[lo, hi] of the values of ArithConfig field `name` that fit `width` bits and are accepted
    (with `fixed` other fields); checked to be an interval at its ends and 16 inner points."""
    ok = lambda v: _ok(lambda: ArithConfig(**{name: v}, **fixed))
    top = (1 << width) - 1
    lo = next(v for v in range(0, 3) if ok(v))
    a, b = lo, top        # largest accepted: ok(a), and everything above b refused
    if ok(top):
        a = top
    while b - a > 1:
        mid = (a + b) // 2
        a, b = (mid, b) if ok(mid) else (a, mid)
    hi = a
    probes = [lo + (hi - lo) * k // 17 for k in range(1, 17)]
    assert all(ok(v) for v in (lo, hi, *probes)), name
    assert (lo == 0 or not ok(lo - 1)) and (hi == top or not ok(hi + 1)), name
    return lo, hi


def legal_round_bits(max_rounds):
    """Every accepted (b1, .., bn) with n <= max_rounds, each slice within its 4-bit register."""
    out = []
    for n in range(1, 5):
        for rb in itertools.product(range(16), repeat=n):
            if sum(rb) == 8 and _ok(lambda: LapaConfig(
                    arith=ArithConfig(round_bits=rb, round_eta=(0,) * n, round_margin=(0,) * n),
                    hw=HardwareConfig(max_rounds=max_rounds))):
                out.append(rb)
    return out


def legal_heads(hw):
    """Every (H, Hkv) a job may ask of hardware built for `hw.n_heads` heads."""
    return [(h, g) for h in range(1, hw.n_heads + 1) for g in range(1, h + 1)
            if _ok(lambda: HardwareConfig(n_heads=h, n_kv_heads=g))]


class ConfigCheckRules(Harness):
    def __init__(self, dut: ConfigCheck):
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        c = dut.config
        inside = lambda v, name, width, **kw: (lambda lo, hi: (v >= lo) & (v <= hi))(
            *legal_interval(name, width, **kw))
        groups = {}
        groups["SEQ_LEN"] = (c.seq_len >= 1) & (c.seq_len <= dut.max_seq_len)
        hw = HardwareConfig(n_heads=dut.n_heads, n_kv_heads=1, max_rounds=dut.max_rounds)
        groups["HEADS"] = _any((c.heads.n_heads == h) & (c.heads.n_kv_heads == g)
                               for h, g in legal_heads(hw))
        rb = c.round_bits
        slices = [rb.b1, rb.b2, rb.b3, rb.b4]
        groups["ROUND_BITS"] = _any(_all([rb.n_rounds == len(t)] + [slices[r] == b for r, b in enumerate(t)])
                                    for t in legal_round_bits(dut.max_rounds))
        etas = [c.round_eta1, c.round_eta2, c.round_eta3, c.round_eta4]
        f_lo, f_hi = legal_interval("eta_frac_bits", len(c.eta_frac_bits), round_eta=(0, 0))
        eta_ok = []
        for f in range(f_lo, f_hi + 1):
            e_hi = _eta_hi(f)
            eta_ok.append((c.eta_frac_bits == f)
                          & _all([(rb.n_rounds <= r) | (etas[r] <= e_hi) for r in range(4)]))
        groups["ETA"] = _any(eta_ok)
        groups["SM_FRAC_BITS"] = inside(c.sm_frac_bits, "sm_frac_bits", len(c.sm_frac_bits))
        groups["SHIFT_RANGE"] = _all([inside(getattr(c, n), n, len(getattr(c, n)))
                                for n in ("n_q", "n_k", "n_v", "n_o", "sm_shift", "sg_shift")])
        groups["MULT"] = _all([inside(getattr(c, n), n, len(getattr(c, n)))
                               for n in ("m_q", "m_k", "m_v", "m_o", "sm_mult", "sg_mult")])
        groups["ROPE"] = ~c.rope | (inside(c.rope_base, "rope_base", len(c.rope_base))
                                    & inside(c.pos0, "pos0", len(c.pos0)))
        pred = param("predictor")
        if pred in dut.params:
            # the job's predictor: one ArithConfig accepts, and the one generated into the slot
            reg = param_register(c, pred)
            codes = [v for v in range(1 << len(reg)) if v < len(pred.choices)
                     and _ok(lambda: ArithConfig(predictor=pred.choices[v])) and pred.choices[v] == dut.predictor]
            groups["PREDICTOR"] = _any(reg == v for v in codes)
        groups["TOPK_K"] = inside(c.topk_k, "topk_k", len(c.topk_k))
        want = Signal(4)
        m.d.comb += want.eq(ERROR_CODES["NONE"])
        for name, ok in reversed(list(groups.items())):      # the first failing group wins
            with m.If(~ok):
                m.d.comb += want.eq(ERROR_CODES[name])
        legal = _all(list(groups.values()))
        m.d.comb += [Assert((dut.error == 0) == legal, "accepted != legal"),
                     Assert(dut.error == want, "ERROR code != first failing group")]


def _eta_hi(f):
    """The largest round_eta ArithConfig accepts with eta_frac_bits = f (9-bit register)."""
    ok = lambda v: _ok(lambda: ArithConfig(eta_frac_bits=f, round_bits=(8,), round_eta=(v,),
                                           round_margin=(0,)))
    hi = max(v for v in range(512) if ok(v))
    assert all(ok(v) for v in range(hi + 1)), f
    return hi


def _any(terms):
    out = Const(0)
    for t in terms:
        out = out | t
    return out


def _all(terms):
    out = Const(1)
    for t in terms:
        out = out & t
    return out
