"""PEA: the shift-accumulate projection array of SPEC section 3.2 (`q_hat`, `k_hat`).

`lanes` output-stationary lanes, each owning one column j of `q_hat` (or `k_hat`) for one token.
Every input beat carries one activation `x[t, i]` (broadcast to all lanes) and the lanes' LO-coded
weights `LO[i, j0 .. j0+lanes-1]` (ALOC was applied offline: weights arrive as `rtl.speculation.loe.LOCode`,
`golden.loe.lo_encode(w, w_lo_mode, w_lo_mant_bits)`). A lane adds `x (*) LO` (shifts and adds,
`rtl.common.shift_acc.lo_product`, no multiplier) to its accumulator. The beat flagged `last` closes
the dot product (normally after D beats): the output beat is `sat8(rshr(acc, sh))` for every
lane, `sh` being the runtime `sh_qhat`/`sh_khat` register, and the next beat starts a new sum.

Cycle behaviour: one input beat per cycle; the output register holds the result of the last
`last` beat; while it is held by back-pressure the input stalls. A token's `q_hat` and `k_hat`
(2*dh columns) take `2 * dh / lanes * D` beats.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import signed_width
from lapa.fields import width_of

from rtl.common.intmath import rshr, sat8
from rtl.speculation.loe import LOCode
from rtl.common.params import require_int
from rtl.registry import block
from rtl.common.shift_acc import lo_product

__all__ = ["PEA_SH_WIDTH", "pea_beat_layout", "PEA"]

PEA_SH_WIDTH = width_of("sh_qhat", "sh_khat")  # the rows of lapa.fields


def pea_beat_layout(lanes):
    """One PEA input beat: `x` (int8), the lanes' weight codes `w`, and `last` (end of the sum)."""
    return data.StructLayout({"x": signed(8), "w": data.ArrayLayout(LOCode, lanes), "last": 1})


class PEA(wiring.Component):
    """`i` stream of `pea_beat_layout(lanes)` -> `o` stream of `lanes` int8 (`q_hat`/`k_hat`)."""

    def __init__(self, *, lanes, d_model, acc_width):
        require_int("lanes", lanes)
        require_int("d_model", d_model)
        need = signed_width(d_model * 128 * 256)  # |x| <= 128, LO value <= 256 (round, 1 mantissa bit)
        require_int("acc_width", acc_width, need, f"D = {d_model} products need {need} bits")
        self.lanes = lanes
        self.d_model = d_model
        self.acc_width = acc_width
        super().__init__({
            "i": In(stream.Signature(pea_beat_layout(lanes))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(8), lanes))),
            "sh": In(unsigned(PEA_SH_WIDTH)),
        })

    def elaborate(self, platform):
        m = Module()
        acc = [Signal(signed(self.acc_width), name=f"acc{k}") for k in range(self.lanes)]
        fresh = Signal(init=1)  # the next beat starts a new sum
        beat = self.i.payload
        take = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(take)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & take):
            m.d.sync += fresh.eq(beat.last)
            for k in range(self.lanes):
                total = Signal(signed(self.acc_width), name=f"sum{k}")
                m.d.comb += total.eq(Mux(fresh, 0, acc[k]) + lo_product(beat.x, beat.w[k]))
                m.d.sync += acc[k].eq(total)
                with m.If(beat.last):
                    m.d.sync += self.o.payload[k].eq(sat8(rshr(total, self.sh)))
            with m.If(beat.last):
                m.d.sync += self.o.valid.eq(1)
        return m


@block("pea", unit="speculation")
def _pea(cfg):
    """PEA shift-accumulate projection lanes (q_hat, k_hat)."""
    return PEA(lanes=cfg.hw.pea_lanes, d_model=cfg.hw.d_model, acc_width=cfg.hw.pea_acc_width)
