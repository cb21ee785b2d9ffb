"""DDF threshold unit (TU) of SPEC section 3.5: running max/min, threshold phi, compaction.

Two sides working concurrently on two banks of the candidate buffer: while the emit side
thresholds and emits one list (a query row's round), the collect side takes the next one.

1. collect: the `i` stream brings the round's candidates `{idx, score, last}` (key index s and
   `A_r[t, s]`, `last` on the final candidate of the row). Each is written to its bank of the
   candidate buffer (a `lib.memory.Memory` of 2 x `max_len` entries) while the running max `mx`
   (and the running min `mn`) are updated, one beat per cycle. After `last` the bank passes to
   the emit side as soon as that is idle; `i.ready` is low only while a full bank waits.
2. threshold + emit: one cycle computes
   `phi = mx - (((mx - mn) * eta) >> eta_frac_bits)` (`ddf_mode` = 0, range) or
   `phi = mx - margin` (`ddf_mode` = 1, margin; no min, no multiply on that path); then the
   buffer is read back one entry per cycle and every entry with `score >= phi` goes out on `o`
   (`{idx, score, last}`) in input order: the survivors `C_{r+1}` compacted, `last` on the final
   one (one survivor is held back until the next is found, so `last` needs no second pass).
   The row's maximum always survives, so `o` carries at least one beat per row.

`ddf_mode`, `eta` (the round's `round_eta`), `eta_frac_bits` and `margin` (the round's
`round_margin`) are runtime inputs, read in the threshold cycle (the list the emit side
takes). A list of n candidates costs n cycles to collect, then 2 + n (+1) to emit, overlapped
with the collection of the next list.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.fields import width_of

from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["DDF_ETA_WIDTH", "DDF_ETA_FRAC_WIDTH", "DDF_MARGIN_WIDTH", "candidate_layout", "DDF"]

# Port widths from the rows of lapa.fields: round_eta 0..2^eta_frac_bits, eta_frac_bits 1..8,
# round_margin 0..2^31-1.
DDF_ETA_WIDTH = width_of("round_eta")
DDF_ETA_FRAC_WIDTH = width_of("eta_frac_bits")
DDF_MARGIN_WIDTH = width_of("round_margin")


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
        # two banks: the next row/round is collected into one while the other is emitted
        m.submodules.buf = buf = memory.Memory(shape=entry, depth=2 * self.max_len, init=[])
        wr = buf.write_port()
        rd = buf.read_port(transparent_for=())
        cw = self.max_len.bit_length()
        beat = self.i.payload

        # collect side
        c_bank = Signal()
        c_count = Signal(cw)
        c_mx = Signal(signed(sw))
        c_mn = Signal(signed(sw))
        c_done = Signal()      # the bank holds a whole list, waiting for the emit side
        m.d.comb += [self.i.ready.eq(~c_done), wr.addr.eq(Mux(c_bank, self.max_len, 0) + c_count),
                     wr.data.idx.eq(beat.idx), wr.data.score.eq(beat.score), wr.en.eq(self.i.valid & ~c_done)]
        with m.If(self.i.valid & ~c_done):
            m.d.sync += c_count.eq(c_count + 1)
            with m.If((c_count == 0) | (beat.score > c_mx)):
                m.d.sync += c_mx.eq(beat.score)
            with m.If((c_count == 0) | (beat.score < c_mn)):
                m.d.sync += c_mn.eq(beat.score)
            with m.If(beat.last):
                m.d.sync += c_done.eq(1)

        # emit side
        e_bank = Signal()
        e_count = Signal(cw)
        e_mx = Signal(signed(sw))
        e_mn = Signal(signed(sw))
        pos = Signal(cw)       # the entry on rd.data while emitting
        phi = Signal(signed(max(sw, DDF_MARGIN_WIDTH + 1) + 2))
        pend = Signal(entry)   # the last survivor found, not yet sent
        pend_valid = Signal()
        stall = self.o.valid & ~self.o.ready
        with m.FSM():
            with m.State("idle"):
                with m.If(c_done):
                    m.d.sync += [e_bank.eq(c_bank), e_count.eq(c_count), e_mx.eq(c_mx), e_mn.eq(c_mn),
                                 c_bank.eq(~c_bank), c_count.eq(0), c_done.eq(0)]
                    m.next = "threshold"
            with m.State("threshold"):
                spread = Signal(unsigned(sw + 1))
                m.d.comb += [spread.eq(e_mx - e_mn), rd.addr.eq(Mux(e_bank, self.max_len, 0))]
                with m.If(self.ddf_mode):
                    m.d.sync += phi.eq(e_mx - self.margin)
                with m.Else():
                    m.d.sync += phi.eq(e_mx - ((spread * self.eta) >> self.eta_frac_bits))
                m.d.sync += [pos.eq(0), pend_valid.eq(0)]
                m.next = "emit"
            with m.State("emit"):
                more = pos < e_count
                m.d.comb += rd.addr.eq(Mux(e_bank, self.max_len, 0) + Mux(~stall & more, pos + 1, pos))
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
                        m.next = "idle"
        return m


@block("ddf", unit="speculation")
def _ddf(cfg):
    """DDF threshold unit: max/min, phi, compaction of the survivors."""
    hw = cfg.hw
    return DDF(max_len=hw.max_seq_len, idx_width=hw.seq_index_width, score_width=hw.peb_acc_width)
