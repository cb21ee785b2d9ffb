"""DDF threshold unit (TU) of SPEC section 3.5: running max/min, threshold phi, compaction.

One query row's round at a time, in two phases:

1. collect: the `i` stream brings the round's candidates `{idx, score, last}` (key index s and
   `A_r[t, s]`, `last` on the final candidate of the row). Each is written to the candidate
   buffer (a `lib.memory.Memory` of `max_len` entries) while the running max `mx` (and the
   running min `mn`) are updated; `i.ready` is high for the whole phase (one beat per cycle).
2. threshold + emit: one cycle computes
   `phi = mx - (((mx - mn) * eta) >> eta_frac_bits)` (`ddf_mode` = 0, range) or
   `phi = mx - margin` (`ddf_mode` = 1, margin; no min, no multiply on that path); then the
   buffer is read back one entry per cycle and every entry with `score >= phi` goes out on `o`
   (`{idx, score, last}`) in input order: the survivors `C_{r+1}` compacted, `last` on the final
   one (one survivor is held back until the next is found, so `last` needs no second pass).
   The row's maximum always survives, so `o` carries at least one beat per row.

`ddf_mode`, `eta` (the round's `round_eta`), `eta_frac_bits` and `margin` (the round's
`round_margin`) are runtime inputs, held stable for the row. A row of n candidates costs
n cycles to collect, 1 for phi and n (+1) to emit under no back-pressure.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .params import require_int
from .registry import block

__all__ = ["DDF_ETA_WIDTH", "DDF_ETA_FRAC_WIDTH", "DDF_MARGIN_WIDTH", "candidate_layout", "DDF"]

DDF_ETA_WIDTH = 9        # round_eta: 0..2^eta_frac_bits <= 256
DDF_ETA_FRAC_WIDTH = 4   # eta_frac_bits: 1..8
DDF_MARGIN_WIDTH = 31    # round_margin: 0..2^31-1


def candidate_layout(idx_width, score_width):
    """A candidate of a round: key index `idx`, its score `A_r`, and `last` (end of the row)."""
    return data.StructLayout({"idx": unsigned(idx_width), "score": signed(score_width), "last": 1})


class DDF(wiring.Component):
    """`i` stream of candidates with scores -> `o` stream of the survivors (same layout)."""

    def __init__(self, *, max_len, idx_width, score_width):
        require_int("max_len", max_len)
        require_int("idx_width", idx_width, max(1, (max_len - 1).bit_length()),
                    f"indices of {max_len} keys")
        require_int("score_width", score_width, 2)
        self.max_len = max_len
        self.idx_width = idx_width
        self.score_width = score_width
        layout = candidate_layout(idx_width, score_width)
        super().__init__({
            "i": In(stream.Signature(layout)),
            "o": Out(stream.Signature(layout)),
            "ddf_mode": In(1),
            "eta": In(unsigned(DDF_ETA_WIDTH)),
            "eta_frac_bits": In(unsigned(DDF_ETA_FRAC_WIDTH)),
            "margin": In(unsigned(DDF_MARGIN_WIDTH)),
        })

    def elaborate(self, platform):
        m = Module()
        sw = self.score_width
        entry = data.StructLayout({"idx": unsigned(self.idx_width), "score": signed(sw)})
        m.submodules.buf = buf = memory.Memory(shape=entry, depth=self.max_len, init=[])
        wr = buf.write_port()
        rd = buf.read_port(transparent_for=())
        cw = self.max_len.bit_length()
        count = Signal(cw)     # candidates collected
        pos = Signal(cw)       # the entry on rd.data while emitting
        mx = Signal(signed(sw))
        mn = Signal(signed(sw))
        phi = Signal(signed(max(sw, DDF_MARGIN_WIDTH + 1) + 2))
        pend = Signal(entry)   # the last survivor found, not yet sent
        pend_valid = Signal()
        beat = self.i.payload
        stall = self.o.valid & ~self.o.ready

        with m.FSM():
            with m.State("collect"):
                m.d.comb += [self.i.ready.eq(1), wr.addr.eq(count),
                             wr.data.idx.eq(beat.idx), wr.data.score.eq(beat.score)]
                with m.If(self.i.valid):
                    m.d.comb += wr.en.eq(1)
                    m.d.sync += count.eq(count + 1)
                    with m.If((count == 0) | (beat.score > mx)):
                        m.d.sync += mx.eq(beat.score)
                    with m.If((count == 0) | (beat.score < mn)):
                        m.d.sync += mn.eq(beat.score)
                    with m.If(beat.last):
                        m.next = "threshold"
            with m.State("threshold"):
                spread = Signal(unsigned(sw + 1))
                m.d.comb += [spread.eq(mx - mn), rd.addr.eq(0)]
                with m.If(self.ddf_mode):
                    m.d.sync += phi.eq(mx - self.margin)
                with m.Else():
                    m.d.sync += phi.eq(mx - ((spread * self.eta) >> self.eta_frac_bits))
                m.d.sync += [pos.eq(0), pend_valid.eq(0)]
                m.next = "emit"
            with m.State("emit"):
                more = pos < count
                m.d.comb += rd.addr.eq(Mux(~stall & more, pos + 1, pos))
                with m.If(~stall):
                    m.d.sync += self.o.valid.eq(0)
                    with m.If(more):
                        m.d.sync += pos.eq(pos + 1)
                        with m.If(rd.data.score >= phi):
                            m.d.sync += [pend.eq(rd.data), pend_valid.eq(1)]
                            with m.If(pend_valid):
                                m.d.sync += [self.o.valid.eq(1), self.o.payload.idx.eq(pend.idx),
                                             self.o.payload.score.eq(pend.score),
                                             self.o.payload.last.eq(0)]
                    with m.Elif(pend_valid):
                        m.d.sync += [self.o.valid.eq(1), self.o.payload.idx.eq(pend.idx),
                                     self.o.payload.score.eq(pend.score),
                                     self.o.payload.last.eq(1), pend_valid.eq(0)]
                    with m.Else():
                        m.d.sync += count.eq(0)
                        m.next = "collect"
        return m


@block("ddf", unit="speculation")
def _ddf(cfg):
    """DDF threshold unit: max/min, phi, compaction of the survivors."""
    hw = cfg.hw
    return DDF(max_len=hw.max_seq_len, idx_width=hw.seq_index_width, score_width=hw.peb_acc_width)
