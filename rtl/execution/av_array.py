"""A.V array (PE Array 2) of SPEC section 4.5: `oacc[t, j] = sum_s P[t, s] * v[s, j]`, then
`o = sat8(rshr(oacc * m_o, n_o))`.

`lanes` columns j in parallel: input `i` beats carry one kept key's probability `p` (uint16) and
`lanes` values of its v row (`first` on the row's first key, `last` on its final one); output
`o` is `lanes` int8 values of o per finished job. The multiply-accumulate is the shared
`MACArray` (one PE per row, unsigned 16-bit `a`), the requant the shared `Requant`; runtime
`m_o`, `n_o`. A head of dimension dh takes dh / lanes jobs per query row.
"""

from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.execution.mac_array import MACArray
from rtl.common.params import require_int
from rtl.registry import block
from rtl.execution.requant import REQUANT_M_WIDTH, REQUANT_N_WIDTH, Requant

__all__ = ["av_beat_layout", "AVArray"]


def av_beat_layout(lanes):
    return data.StructLayout({"p": unsigned(16), "v": data.ArrayLayout(signed(8), lanes),
                              "first": 1, "last": 1})


class AVArray(wiring.Component):
    """`lanes` uint16 x int8 PEs with `acc_width`-bit accumulators and the o requant."""

    def __init__(self, *, lanes, acc_width):
        require_int("lanes", lanes)
        require_int("acc_width", acc_width, 25, "one uint16 x int8 product")
        self.lanes, self.acc_width = lanes, acc_width
        super().__init__({
            "i": In(stream.Signature(av_beat_layout(lanes))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(8), lanes))),
            "m_o": In(unsigned(REQUANT_M_WIDTH)),
            "n_o": In(unsigned(REQUANT_N_WIDTH)),
        })

    def elaborate(self, platform):
        m = Module()
        # uint16 as a 17-bit signed operand keeps the PE a plain signed multiplier.
        m.submodules.pe = pe = MACArray(rows=self.lanes, cols=1, acc_width=self.acc_width,
                                        a_shape=unsigned(16))
        m.submodules.requant = rq = Requant(lanes=self.lanes, acc_width=self.acc_width)
        beat = self.i.payload
        m.d.comb += [
            pe.i.valid.eq(self.i.valid), self.i.ready.eq(pe.i.ready),
            pe.i.payload.first.eq(beat.first), pe.i.payload.last.eq(beat.last),
            rq.m.eq(self.m_o), rq.n.eq(self.n_o),
        ]
        for r in range(self.lanes):
            m.d.comb += [pe.i.payload.a[r][0].eq(beat.p), pe.i.payload.b[r][0].eq(beat.v[r])]
        wiring.connect(m, pe.o, rq.i)
        wiring.connect(m, rq.o, wiring.flipped(self.o))
        return m


@block("av_array", unit="execution")
def _av_array(cfg):
    """A.V array (PE Array 2) with the o requant."""
    return AVArray(lanes=cfg.hw.av_lanes, acc_width=cfg.hw.av_acc_width)
