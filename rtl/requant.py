"""Requant of SPEC section 4.1 and 4.5: `sat8(rshr(acc * m, n))`, one registered stage.

`m` (unsigned 16-bit) and `n` (0..47) are runtime inputs (configuration registers), so one
unit serves q, k, v (m_q/n_q, ...) and o (m_o/n_o). The multiply is exact: the product is
`acc_width + 17` bits wide and `rshr` widens before adding its rounding half.
"""

from amaranth.hdl import Module, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.fields import width_of

from .intmath import rshr, sat8
from .params import require_int
from .registry import block

__all__ = ["REQUANT_M_WIDTH", "REQUANT_N_WIDTH", "requant", "Requant"]

# m: 1..65535, n: 0..47 (the rows of lapa.fields; one port serves q, k, v and o)
REQUANT_M_WIDTH = width_of("m_q", "m_k", "m_v", "m_o")
REQUANT_N_WIDTH = width_of("n_q", "n_k", "n_v", "n_o")


def requant(acc, m, n):
    """`sat8(rshr(acc * m, n))` as an expression: `acc` signed, `m` unsigned, `n` runtime or int."""
    m = Value.cast(m)
    return sat8(rshr(Value.cast(acc) * m.as_unsigned(), n))


class Requant(wiring.Component):
    """`lanes` accumulators in, `lanes` int8 out, through one output register (a stream stage).

    Ports: `i` stream of `ArrayLayout(signed(acc_width), lanes)`, `o` stream of
    `ArrayLayout(signed(8), lanes)`, and the runtime `m`, `n`. Full throughput: one beat per
    cycle, `i.ready` falls only when the output register is held by back-pressure.
    """

    def __init__(self, *, lanes, acc_width):
        require_int("lanes", lanes)
        require_int("acc_width", acc_width, 2)
        self.lanes = lanes
        self.acc_width = acc_width
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(signed(acc_width), lanes))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(8), lanes))),
            "m": In(unsigned(REQUANT_M_WIDTH)),
            "n": In(unsigned(REQUANT_N_WIDTH)),
        })

    def elaborate(self, platform):
        m = Module()
        take = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(take)
        with m.If(take):
            m.d.sync += self.o.valid.eq(self.i.valid)
            with m.If(self.i.valid):
                m.d.sync += [self.o.payload[k].eq(requant(self.i.payload[k], self.m, self.n))
                             for k in range(self.lanes)]
        return m


@block("requant", unit="execution")
def _requant(cfg):
    """Requant multiply-shift-saturate of the projections."""
    return Requant(lanes=cfg.hw.mac_rows, acc_width=cfg.hw.mac_array_acc_width)
