"""Kept-list compactor: per-key keep decisions of a row -> the row's kept keys (SPEC 3.6 / 8 `kept`).

Input `i`: every candidate key of a row in ascending order, `{key, keep, last}` (`last` on the
row's final candidate). Output `o`: the keys with `keep` = 1, same order, as
`rtl.execution.kv_control.kv_request_layout` beats (`{key, last}`, `last` on the row's final kept key),
what the execution unit takes as `kept`. The caller guarantees at least one kept key per row
(SPEC 8: every predictor keeps the row maximum), so every row ends with a `last` beat.

One kept key is held back until the next one (or the row's end) is seen, so `last` needs no
second pass over the row; a row whose final candidate is kept while another is held back costs
one extra cycle (the input stalls for it). One input beat per cycle otherwise; the output
register stalls the input only while back-pressure holds it.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.execution.kv_control import kv_request_layout
from rtl.common.params import require_int

__all__ = ["keep_beat_layout", "KeptList", "row_job"]


def keep_beat_layout(idx_width):
    """A candidate key with its keep decision; `last` closes the row."""
    return data.StructLayout({"key": unsigned(idx_width), "keep": 1, "last": 1})


class KeptList(wiring.Component):
    """`i` stream of `keep_beat_layout` -> `o` stream of `kv_request_layout` (kept keys only)."""

    def __init__(self, *, idx_width):
        require_int("idx_width", idx_width)
        self.idx_width = idx_width
        super().__init__({
            "i": In(stream.Signature(keep_beat_layout(idx_width))),
            "o": Out(stream.Signature(kv_request_layout(idx_width))),
        })

    def elaborate(self, platform):
        m = Module()
        beat = self.i.payload
        pend = Signal(unsigned(self.idx_width))    # the last kept key seen, not yet sent
        pend_valid = Signal()
        flush = Signal()                           # send `pend` as the row's last, input waits
        take = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(take & ~flush)

        def send(key, last):
            return [self.o.valid.eq(1), self.o.payload.key.eq(key), self.o.payload.last.eq(last)]

        with m.If(take):
            m.d.sync += self.o.valid.eq(0)
            with m.If(flush):
                m.d.sync += [*send(pend, 1), pend_valid.eq(0), flush.eq(0)]
            with m.Elif(self.i.valid):
                with m.If(beat.keep):
                    m.d.sync += [pend.eq(beat.key), pend_valid.eq(~beat.last | pend_valid)]
                    with m.If(pend_valid):
                        m.d.sync += send(pend, 0)
                        with m.If(beat.last):
                            m.d.sync += flush.eq(1)
                    with m.Elif(beat.last):
                        m.d.sync += send(beat.key, 1)
                with m.Elif(beat.last & pend_valid):
                    m.d.sync += [*send(pend, 1), pend_valid.eq(0)]
        return m


def row_job(m, start, seq_len, kept):
    """Job control of a predictor that emits one kept list per row: `busy` rises the cycle after
    `start` (ignored while busy) and falls after the `last` beat of row seq_len - 1 has gone out
    on `kept`. Returns (busy, begin), `begin` the cycle a job is taken (to reset the caller's state)."""
    busy = Signal()
    rows_out = Signal(len(seq_len))
    begin = start & ~busy
    with m.If(begin):
        m.d.sync += [busy.eq(1), rows_out.eq(0)]
    with m.If(kept.valid & kept.ready & kept.payload.last):
        m.d.sync += rows_out.eq(rows_out + 1)
        with m.If(rows_out + 1 == seq_len):
            m.d.sync += busy.eq(0)
    return busy, begin
