"""Requant of SPEC section 4.1 and 4.5: `sat8(rshr(acc * m, n))`, two registered stages.

`m` (unsigned 16-bit) and `n` (0..47) are runtime inputs (configuration registers), so one
unit serves q, k, v (m_q/n_q, ...) and o (m_o/n_o). The multiply is exact: the product is
`acc_width + 17` bits wide and `rshr` widens before adding its rounding half. The product is
registered before the variable shift and the saturation (stage `prod`, then `o`): in one cycle
the multiply, the 48-way shift and the clamp took 10.65 ns at OSU 0.18 um, over a 10 ns clock.
"""

from amaranth.hdl import Module, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.fields import width_of

from rtl.common.intmath import rshr, sat8
from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["REQUANT_M_WIDTH", "REQUANT_N_WIDTH", "requant", "Requant"]

# m: 1..65535, n: 0..47 (the rows of lapa.fields; one port serves q, k, v and o)
REQUANT_M_WIDTH = width_of("m_q", "m_k", "m_v", "m_o")
REQUANT_N_WIDTH = width_of("n_q", "n_k", "n_v", "n_o")


def requant(acc, m, n):
    """`sat8(rshr(acc * m, n))` as an expression: `acc` signed, `m` unsigned, `n` runtime or int."""
    m = Value.cast(m)
    return sat8(rshr(Value.cast(acc) * m.as_unsigned(), n))


class Requant(wiring.Component):
    """`lanes` accumulators in, `lanes` int8 out, through two registers (a two-stage stream).

    Ports: `i` stream of `ArrayLayout(signed(acc_width), lanes)`, `o` stream of
    `ArrayLayout(signed(8), lanes)`, and the runtime `m`, `n`. Full throughput: one beat per
    cycle, latency 2; `i.ready` falls only when both stages are held by back-pressure. `m` and
    `n` are taken with the beat (`n` rides with the product), so they may change every beat.
    `prod_valid` (not a port) says the product stage holds a beat: the formal invariants count
    the beats in flight as `prod_valid + o.valid`.
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
        self.prod_valid = Signal()

    def in_flight(self):
        """The beats inside the block (0..2), for the formal invariants."""
        return self.prod_valid + self.o.valid

    def elaborate(self, platform):
        m = Module()
        prod = Signal(data.ArrayLayout(signed(self.acc_width + REQUANT_M_WIDTH + 1), self.lanes))
        prod_n = Signal.like(self.n)           # the beat's shift travels with its product
        take_o = ~self.o.valid | self.o.ready
        take_p = ~self.prod_valid | take_o
        m.d.comb += self.i.ready.eq(take_p)
        with m.If(take_p):
            m.d.sync += self.prod_valid.eq(self.i.valid)
            with m.If(self.i.valid):
                m.d.sync += [prod[k].eq(self.i.payload[k] * self.m.as_unsigned()) for k in range(self.lanes)]
                m.d.sync += prod_n.eq(self.n)
        with m.If(take_o):
            m.d.sync += self.o.valid.eq(self.prod_valid)
            with m.If(self.prod_valid):
                m.d.sync += [self.o.payload[k].eq(sat8(rshr(prod[k], prod_n))) for k in range(self.lanes)]
        return m


@block("requant", unit="execution")
def _requant(cfg):
    """Requant multiply-shift-saturate of the projections."""
    return Requant(lanes=cfg.hw.mac_rows, acc_width=cfg.hw.mac_array_acc_width)
