"""Row span source: one producer's rows of bus words, buffered whole, written as one span each.

A producer pushes words on `i` (`last` on each row's final word) and, on `addr`, one byte
address per row. A row is offered to the write-back (`req`: address and the row's word count,
then its words on `data`) only once all of its words are buffered, so a granted span never
waits on its producer: write-back of several producers cannot deadlock on a slow one, and the
row length need not be known in advance (rows of kept probabilities). The buffer holds `rows`
rows of up to `max_row_words` words.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.dma import BEATS_WIDTH, DMACommand
from rtl.common.params import require_int
from rtl.common.resize import word_layout

__all__ = ["RowSpanSource"]


class RowSpanSource(wiring.Component):
    """Whole-row buffer in front of one `WriteBack` port (see module docstring)."""

    def __init__(self, *, max_row_words, rows=2, addr_width=32, data_width=64):
        require_int("max_row_words", max_row_words, 1)
        require_int("rows", rows, 1)
        if max_row_words >= 1 << BEATS_WIDTH:
            raise ValueError(f"max_row_words = {max_row_words}: above {(1 << BEATS_WIDTH) - 1}")
        self.max_row_words, self.rows = max_row_words, rows
        super().__init__({
            "i": In(stream.Signature(word_layout(data_width))),
            "addr": In(stream.Signature(addr_width)),
            "req": Out(stream.Signature(DMACommand(addr_width))),
            "data": Out(stream.Signature(data_width)),
        })

    def elaborate(self, platform):
        m = Module()
        width = len(self.data.payload)
        m.submodules.words = words = fifo.SyncFIFOBuffered(width=width, depth=self.rows * self.max_row_words)
        m.submodules.lengths = lengths = fifo.SyncFIFOBuffered(width=BEATS_WIDTH, depth=self.rows)
        count = Signal(BEATS_WIDTH)      # words of the row being buffered
        # a word is taken only when the row's length has a place to go at its end
        take = words.w_rdy & lengths.w_rdy
        m.d.comb += [self.i.ready.eq(take), words.w_en.eq(self.i.valid & take),
                     words.w_data.eq(self.i.payload.data),
                     lengths.w_en.eq(self.i.valid & take & self.i.payload.last),
                     lengths.w_data.eq(count + 1)]
        with m.If(self.i.valid & take):
            m.d.sync += count.eq(count + 1)
            with m.If(self.i.payload.last):
                m.d.sync += count.eq(0)
        m.d.comb += [self.req.valid.eq(lengths.r_rdy & self.addr.valid),
                     self.req.payload.addr.eq(self.addr.payload),
                     self.req.payload.beats.eq(lengths.r_data)]
        fire = self.req.valid & self.req.ready
        m.d.comb += [lengths.r_en.eq(fire), self.addr.ready.eq(fire)]
        m.d.comb += [self.data.valid.eq(words.r_rdy), self.data.payload.eq(words.r_data),
                     words.r_en.eq(self.data.ready)]
        return m
