"""Integer softmax unit of SPEC section 4.4, one row of kept scores at a time.

Input `i`: the row's kept scores S[t, s] (`score`, `last` on the row's final key), in any key
order. Output `o`: one uint16 probability P[t, s] per input score, same order, `last` on the
row's final one. Runtime inputs `sm_mult`, `sm_shift`, `sm_frac_bits` (F = 1..8).

Phases per row (n kept keys): COLLECT (n cycles: store scores, track the maximum), EXP (n + 3:
a three-stage pipeline behind the score buffer's read, `d = max - S` registered, `u = rshr(d *
sm_mult, sm_shift)` registered, then `E = LUT[f] >> p` stored and `T += E`), DIV (`R = floor(2^32
/ T)`, restoring, 18 cycles), OUT (n: `P = min((E * R) >> 16, 65535)`). In one cycle, subtract,
multiply, shift, table and sum took 15.0 ns at OSU 0.18 um; each stage now holds a part of it.

One LUT serves every F: `LUT_F[f] = LUT_8[f << (8 - F)]` exactly, since f / 2^F and
(f << (8-F)) / 2^8 are the same dyadic number, so the ROM holds `LUT_8` (256 x 16 bits).
With `mark_max` (the Sanger predictor, SPEC 8, keeps the row maximum whatever its probability)
each output beat also carries `top`: the score equals the row maximum (d = 0; a smaller score
can have E = 32768 too when `u` rounds to 0, so E alone cannot tell). The flag rides in a 17th
bit of the exponent buffer.

DIV needs only 18 quotient bits: the row maximum has d = 0, so E = 32768 and T >= 2^15,
R <= 2^17; the quotient bits above 17 are zero and the division starts from 2^32 >> 18.
"""

import math

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lapa.fields import width_of

from rtl.common.intmath import rshr
from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["SM_LUT_BITS", "SM_MULT_WIDTH", "SM_SHIFT_WIDTH", "SM_FRAC_WIDTH", "scale_ports", "sm_lut_init",
           "SoftmaxExp", "Softmax", "score_beat", "prob_beat"]

SM_LUT_BITS = 8       # LUT for the largest F; smaller F index it scaled
SM_RECIP_BITS = 18    # R = floor(2^32 / T) <= 2^17 because T >= 2^15
# The scale and LUT ports, from the rows of lapa.fields (SPEC 8's sanger reuses the scale with sg_*).
SM_MULT_WIDTH = width_of("sm_mult", "sg_mult")
SM_SHIFT_WIDTH = width_of("sm_shift", "sg_shift")
SM_FRAC_WIDTH = width_of("sm_frac_bits")


def scale_ports():
    """The runtime scale ports of the softmax blocks: `sm_mult`, `sm_shift`, `sm_frac_bits`."""
    return {"sm_mult": In(unsigned(SM_MULT_WIDTH)), "sm_shift": In(unsigned(SM_SHIFT_WIDTH)),
            "sm_frac_bits": In(unsigned(SM_FRAC_WIDTH))}


def sm_lut_init():
    """`floor(2^15 * 2^(-f/256) + 0.5)` for f in 0..255, as the golden model computes it."""
    return [math.floor(32768.0 * 2.0 ** (-f / 256.0) + 0.5) for f in range(1 << SM_LUT_BITS)]


def score_beat(score_width):
    return data.StructLayout({"score": signed(score_width), "last": 1})


def prob_beat(mark_max=False):
    """An output beat: P[t, s] and `last`, with `top` (S[t, s] is the row maximum) under `mark_max`."""
    return data.StructLayout({"prob": unsigned(16), "last": 1, **({"top": 1} if mark_max else {})})


class SoftmaxExp(wiring.Component):
    """`E = LUT[f] >> p` (0 when p >= 16) for a distance `d >= 0` below the row maximum (the LUT
    is an asynchronous-read ROM), a one-cycle pipeline: `u = rshr(d * sm_mult, sm_shift)` is
    registered every cycle (no enable), so `e` follows `d` one cycle later."""

    def __init__(self, *, d_width):
        require_int("d_width", d_width)
        self.d_width = d_width
        super().__init__({
            "d": In(unsigned(d_width)),
            **scale_ports(),
            "e": Out(unsigned(16)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.lut = lut = Memory(shape=unsigned(16), depth=1 << SM_LUT_BITS, init=sm_lut_init())
        rd = lut.read_port(domain="comb")
        u = Signal(self.d_width + SM_MULT_WIDTH)
        m.d.sync += u.eq(rshr(self.d * self.sm_mult, self.sm_shift))
        p = Signal(len(u))
        f = Signal(SM_LUT_BITS)
        frac = self.sm_frac_bits
        m.d.comb += [
            p.eq(u >> frac),
            f.eq(u & ((1 << frac) - 1)),
            rd.addr.eq(f << (SM_LUT_BITS - frac).as_unsigned()),
            self.e.eq(Mux(p < 16, rd.data >> p[:4], 0)),
        ]
        return m


class Softmax(wiring.Component):
    """One row at a time; buffers of `max_len` scores and exponents (`lib.memory.Memory`)."""

    def __init__(self, *, score_width, max_len, mark_max=False):
        require_int("score_width", score_width, 2)
        require_int("max_len", max_len)
        self.score_width, self.max_len, self.mark_max = score_width, max_len, bool(mark_max)
        self.idx_width = max(1, (max_len - 1).bit_length())
        self.sum_width = 16 + max(1, max_len.bit_length())
        super().__init__({
            "i": In(stream.Signature(score_beat(score_width))),
            "o": Out(stream.Signature(prob_beat(self.mark_max))),
            **scale_ports(),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.scores = scores = Memory(shape=signed(self.score_width), depth=self.max_len, init=[])
        m.submodules.exps = exps = Memory(shape=unsigned(16 + self.mark_max), depth=self.max_len, init=[])
        s_wr, s_rd = scores.write_port(), scores.read_port()
        e_wr, e_rd = exps.write_port(), exps.read_port()
        m.submodules.exp = exp = SoftmaxExp(d_width=self.score_width + 1)
        m.d.comb += [getattr(exp, name).eq(getattr(self, name)) for name in scale_ports()]

        count = Signal(self.idx_width + 1)     # scores in the row
        idx = Signal(self.idx_width + 1)       # read pointer
        pend = Signal()                        # a read issued last cycle (EXP)
        a_v, b_v = Signal(), Signal()          # EXP pipeline stages hold a score (a: d, b: u)
        widx = Signal(self.idx_width)          # exponent write pointer (the scores leave in order)
        a_d = Signal(self.score_width + 1)     # max - S >= 0
        a_top, b_top = Signal(), Signal()      # S equals the row maximum (mark_max)
        mx = Signal(signed(self.score_width))
        total = Signal(self.sum_width)         # T
        rem = Signal(self.sum_width + 1)
        recip = Signal(SM_RECIP_BITS)          # R
        step = Signal(range(SM_RECIP_BITS + 1))

        with m.FSM():
            with m.State("COLLECT"):
                m.d.comb += [self.i.ready.eq(1), s_wr.addr.eq(count), s_wr.data.eq(self.i.payload.score),
                             s_wr.en.eq(self.i.valid)]
                with m.If(self.i.valid):
                    m.d.sync += count.eq(count + 1)
                    with m.If((count == 0) | (self.i.payload.score > mx)):
                        m.d.sync += mx.eq(self.i.payload.score)
                    with m.If(self.i.payload.last):
                        m.d.sync += [idx.eq(0), pend.eq(0), a_v.eq(0), b_v.eq(0), widx.eq(0), total.eq(0)]
                        m.next = "EXP"
            with m.State("EXP"):
                # read (idx) -> stage a: d = max - S (a_*) -> stage b: u in `exp` (b_*) -> E stored, T += E
                m.d.comb += [s_rd.addr.eq(idx), exp.d.eq(a_d),
                             e_wr.addr.eq(widx), e_wr.data.eq(exp.e), e_wr.en.eq(b_v)]
                if self.mark_max:
                    m.d.comb += e_wr.data[16].eq(b_top)
                m.d.sync += [pend.eq(idx < count), a_v.eq(pend), a_d.eq(mx - s_rd.data), a_top.eq(s_rd.data == mx),
                             b_v.eq(a_v), b_top.eq(a_top)]
                with m.If(idx < count):
                    m.d.sync += idx.eq(idx + 1)
                with m.If(b_v):
                    m.d.sync += [total.eq(total + exp.e), widx.eq(widx + 1)]
                    with m.If(widx == count - 1):   # the last score: a_v and b_v are empty behind it
                        m.d.sync += [rem.eq(1 << (32 - SM_RECIP_BITS)), step.eq(0), recip.eq(0)]
                        m.next = "DIV"
            with m.State("DIV"):
                shifted = rem << 1
                fits = shifted >= total
                m.d.sync += [rem.eq(Mux(fits, shifted - total, shifted)),
                             recip.eq((recip << 1) | fits), step.eq(step + 1)]
                with m.If(step == SM_RECIP_BITS - 1):
                    m.d.sync += [idx.eq(0), self.o.valid.eq(0)]
                    m.next = "OUT"
            with m.State("OUT"):
                # Registered read: the read port advances only when the output stage does.
                adv = ~self.o.valid | self.o.ready
                m.d.comb += [e_rd.addr.eq(idx), e_rd.en.eq(adv)]
                prob = (e_rd.data[:16] * recip) >> 16
                m.d.comb += self.o.payload.prob.eq(Mux(prob > 65535, 65535, prob))
                if self.mark_max:
                    m.d.comb += self.o.payload.top.eq(e_rd.data[16])
                with m.If(adv):
                    m.d.sync += [self.o.valid.eq(idx < count), self.o.payload.last.eq(idx == count - 1)]
                    with m.If(idx < count):
                        m.d.sync += idx.eq(idx + 1)
                with m.If(self.o.valid & self.o.ready & self.o.payload.last):
                    m.d.sync += [count.eq(0), self.o.valid.eq(0)]
                    m.next = "COLLECT"
        return m


@block("softmax", unit="execution")
def _softmax(cfg):
    """Integer softmax unit (SPEC 4.4)."""
    return Softmax(score_width=cfg.hw.score_width, max_len=cfg.hw.max_seq_len)
