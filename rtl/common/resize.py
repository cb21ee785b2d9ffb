"""Stream width conversion between the AXI bus words and the blocks' beats.

`StreamResize(in_width=W, out_width=B)` with one a multiple of the other: widening packs
B / W consecutive input words into one beat (first word in the low bits), narrowing splits each
word into W / B beats (low bits first). Both carry a `last` flag: a widening beat is `last`
when its final word was, a narrowing beat when it is the final part of a `last` word. Widening
requires every `last` to fall on a beat boundary (rows are padded to whole beats in memory),
unless `pad_last=True`: then a `last` word ends its beat early, the rest of the beat zero.
Full throughput in both directions: one input word per cycle when widening, one output beat per
cycle when narrowing.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.params import require_int

__all__ = ["word_layout", "StreamResize"]


def word_layout(width):
    """A stream payload of `width` data bits and a `last` flag."""
    return data.StructLayout({"data": width, "last": 1})


class StreamResize(wiring.Component):
    """Width converter `i` (in_width) -> `o` (out_width) of `word_layout` streams."""

    def __init__(self, *, in_width, out_width, pad_last=False):
        require_int("in_width", in_width, 1)
        require_int("out_width", out_width, 1)
        if max(in_width, out_width) % min(in_width, out_width):
            raise ValueError(f"in_width = {in_width}, out_width = {out_width}: one must be a "
                             "multiple of the other")
        self.in_width, self.out_width, self.pad_last = in_width, out_width, pad_last
        super().__init__({"i": In(stream.Signature(word_layout(in_width))),
                          "o": Out(stream.Signature(word_layout(out_width)))})

    def elaborate(self, platform):
        m = Module()
        W, B = self.in_width, self.out_width
        if W == B:
            wiring.connect(m, wiring.flipped(self.i), wiring.flipped(self.o))
        elif B > W:
            self._widen(m, B // W)
        else:
            self._narrow(m, W // B)
        return m

    def _widen(self, m, k):
        W = self.in_width
        parts = Signal(range(k))
        buf = Signal(self.out_width)
        full = Signal()
        last = Signal()
        m.d.comb += [self.o.valid.eq(full), self.o.payload.data.eq(buf),
                     self.o.payload.last.eq(last),
                     self.i.ready.eq(~full | self.o.ready)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += full.eq(0)
        with m.If(self.i.valid & self.i.ready):
            with m.If(parts == 0):
                m.d.sync += buf.eq(self.i.payload.data)   # the rest of the beat reads 0
            for p in range(1, k):
                with m.If(parts == p):
                    m.d.sync += buf[p * W:(p + 1) * W].eq(self.i.payload.data)
            m.d.sync += parts.eq(parts + 1)
            with m.If((parts == k - 1) | (self.i.payload.last if self.pad_last else 0)):
                m.d.sync += [parts.eq(0), full.eq(1), last.eq(self.i.payload.last)]

    def _narrow(self, m, k):
        B = self.out_width
        part = Signal(range(k))
        m.d.comb += [self.o.valid.eq(self.i.valid),
                     self.o.payload.last.eq(self.i.payload.last & (part == k - 1)),
                     self.i.ready.eq(self.o.ready & (part == k - 1))]
        with m.Switch(part):
            for p in range(k):
                with m.Case(p):
                    m.d.comb += self.o.payload.data.eq(self.i.payload.data[p * B:(p + 1) * B])
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += part.eq(part + 1)
            with m.If(part == k - 1):
                m.d.sync += part.eq(0)
