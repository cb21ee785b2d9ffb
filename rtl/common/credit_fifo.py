"""Credit FIFO: a stream FIFO whose free space, less the words already claimed, is an output.

A producer that must never block (the in-order data fetcher: a word waiting for a full FIFO would
hold every other destination) asks for `space` >= n before it requests n words, and claims them
(`claim` = n) in the cycle it makes the request; `space` then counts the words neither stored nor
claimed: space' = space + (words leaving at `o`) - claim. Without over-claiming, `i.ready` stays
high for every claimed word.
"""

from amaranth.hdl import Module
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.params import require_int

__all__ = ["CreditFIFO"]


class CreditFIFO(wiring.Component):
    """`depth` entries of `shape` with the credit count `space` (see module docstring)."""

    def __init__(self, shape, depth):
        require_int("depth", depth, 1)
        self.shape, self.depth = shape, depth
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
            "claim": In(range(depth + 1)),
            "space": Out(range(depth + 1), init=depth),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = q = fifo.SyncFIFOBuffered(width=self.i.payload.as_value().shape().width, depth=self.depth)
        m.d.comb += [q.w_en.eq(self.i.valid), q.w_data.eq(self.i.payload), self.i.ready.eq(q.w_rdy),
                     self.o.valid.eq(q.r_rdy), self.o.payload.eq(q.r_data), q.r_en.eq(self.o.ready)]
        m.d.sync += self.space.eq(self.space + (q.r_en & q.r_rdy) - self.claim)
        return m
