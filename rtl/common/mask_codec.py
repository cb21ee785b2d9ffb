"""Mask rows between kept-key lists and bit vectors (the `mask` buffer of `lapa.memlayout`).

The speculation unit emits each query row's kept keys as an ascending list; the mask buffer in
memory holds the row as a bit vector, LSB first, padded to whole bus words. `MaskPacker` turns
lists into words (every row is `ceil(seq_len / W)` words, `last` on the row's final word) and
`MaskUnpacker` turns words back into lists (`last` on the row's final key), so masks can be
written out, read back on demand, and traced, at one key or one word per cycle.
"""

from amaranth.hdl import Const, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.execution.kv_control import kv_request_layout
from rtl.common.params import require_int
from rtl.common.resize import word_layout

__all__ = ["MaskPacker", "MaskUnpacker"]


def _check(max_seq_len, word_width):
    require_int("max_seq_len", max_seq_len)
    require_int("word_width", word_width, 2)
    if word_width & (word_width - 1):
        raise ValueError(f"word_width = {word_width}: must be a power of two")
    return max(1, (max_seq_len - 1).bit_length()), word_width.bit_length() - 1


class MaskPacker(wiring.Component):
    """Kept-key lists (ascending, `last` per row) in; row bit vectors out, `seq_len` runtime."""

    def __init__(self, *, max_seq_len, word_width=64):
        self.idx_width, self.shift = _check(max_seq_len, word_width)
        self.max_seq_len, self.word_width = max_seq_len, word_width
        super().__init__({
            "seq_len": In(unsigned(max_seq_len.bit_length())),
            "i": In(stream.Signature(kv_request_layout(self.idx_width))),
            "o": Out(stream.Signature(word_layout(word_width))),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.word_width
        words = Signal(range(self.max_seq_len // W + 2))
        cur = Signal.like(words)
        acc = Signal(W)
        key_word = Signal.like(words)
        m.d.comb += [words.eq((self.seq_len + W - 1) >> self.shift),
                     key_word.eq(self.i.payload.key >> self.shift),
                     self.o.payload.data.eq(acc),
                     self.o.payload.last.eq(cur == words - 1)]
        with m.FSM(name="packer"):
            with m.State("ACCEPT"):
                with m.If(self.i.valid & (key_word == cur)):
                    m.d.comb += self.i.ready.eq(1)
                    m.d.sync += acc.eq(acc | (Const(1, W) << self.i.payload.key[:self.shift]))
                    with m.If(self.i.payload.last):
                        m.next = "FLUSH"
                with m.Elif(self.i.valid):
                    # the key lies in a later word: finish this one first
                    m.d.comb += [self.o.valid.eq(1), self.o.payload.last.eq(0)]
                    with m.If(self.o.ready):
                        m.d.sync += [acc.eq(0), cur.eq(cur + 1)]
            with m.State("FLUSH"):
                m.d.comb += self.o.valid.eq(1)
                with m.If(self.o.ready):
                    m.d.sync += [acc.eq(0), cur.eq(cur + 1)]
                    with m.If(cur == words - 1):
                        m.d.sync += cur.eq(0)
                        m.next = "ACCEPT"
        return m


class MaskUnpacker(wiring.Component):
    """Row bit vectors (`last` on a row's final word) in; kept-key lists out (`last` per row)."""

    def __init__(self, *, max_seq_len, word_width=64):
        self.idx_width, self.shift = _check(max_seq_len, word_width)
        self.max_seq_len, self.word_width = max_seq_len, word_width
        super().__init__({
            "i": In(stream.Signature(word_layout(word_width))),
            "o": Out(stream.Signature(kv_request_layout(self.idx_width))),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.word_width
        bits = Signal(W)
        row_end = Signal()           # the word in `bits` is the row's last
        word_idx = Signal(range(self.max_seq_len // W + 2))
        pending = Signal(self.idx_width)   # one key held back until we know if it is the last
        have_pending = Signal()
        low = Signal(range(W))
        for b in reversed(range(W)):   # lowest set bit wins
            with m.If(bits[b]):
                m.d.comb += low.eq(b)
        found = Signal(self.idx_width)
        m.d.comb += [found.eq((word_idx << self.shift) | low), self.o.payload.key.eq(pending)]
        with m.FSM(name="unpacker"):
            with m.State("LOAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [bits.eq(self.i.payload.data), row_end.eq(self.i.payload.last)]
                    m.next = "SCAN"
            with m.State("SCAN"):
                with m.If(bits != 0):
                    m.d.comb += self.o.valid.eq(have_pending)
                    with m.If(~have_pending | self.o.ready):
                        m.d.sync += [pending.eq(found), have_pending.eq(1),
                                     bits.eq(bits & (bits - 1))]
                with m.Elif(row_end):
                    m.d.comb += [self.o.valid.eq(have_pending), self.o.payload.last.eq(1)]
                    with m.If(~have_pending | self.o.ready):
                        m.d.sync += [have_pending.eq(0), word_idx.eq(0)]
                        m.next = "LOAD"
                with m.Else():
                    m.d.sync += word_idx.eq(word_idx + 1)
                    m.next = "LOAD"
        return m
