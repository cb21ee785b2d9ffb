"""The A.V stage's feeder in the execution unit (SPEC 4.5): a finished row, handed over with its
token, bank and kept-key count, becomes dh / av_lanes jobs on the A.V array, each over the row's
kept keys in `kept` order; the array's results leave as `o` beats (row, chunk).

The feeder runs on its own while the execution unit projects and scores the next row into the
other bank: it reads the key list and probability banks (combinational read ports, owned by
the unit) at its key index, the V buffer (synchronous port) at the key it read, and keeps one
registered beat in front of the array. `active` rises at `start` and falls with the row's
final `o` beat; `start` is taken only while `active` is low.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig

from rtl.execution.av_array import av_beat_layout
from rtl.execution.layouts import exec_shape, o_layout, step_nested

__all__ = ["AVFeeder", "attach_feeder", "store_probs"]


def store_probs(m, probs, out, prob_buf, addr, count):
    """The softmax's probabilities `probs` out on `out` and into `prob_buf` at `addr` (the row's
    bank + `count`, which counts them); returns the cycle the row's last one is taken."""
    p_wr = prob_buf.write_port()
    fire = out.valid & out.ready
    wiring.connect(m, probs, out)
    m.d.comb += [p_wr.addr.eq(addr), p_wr.data.eq(probs.payload.prob), p_wr.en.eq(fire)]
    with m.If(fire):
        m.d.sync += count.eq(count + 1)
    return fire & probs.payload.last


def attach_feeder(m, hw, av, key_list, prob_buf, v_buf, o):
    """An `AVFeeder` in `m` on the unit's key list and probability banks (combinational reads),
    V buffer and A.V array `av`, its rows out on `o`; returns it."""
    m.submodules.av_feeder = feed = AVFeeder(hw)
    kl_rd = key_list.read_port(domain="comb")
    pb_rd = prob_buf.read_port(domain="comb")
    v_rd = v_buf.read_port()
    m.d.comb += [kl_rd.addr.eq(feed.kl_addr), feed.kl_data.eq(kl_rd.data), pb_rd.addr.eq(feed.pb_addr),
                 feed.pb_data.eq(pb_rd.data), v_rd.addr.eq(feed.v_addr), v_rd.en.eq(feed.v_en),
                 feed.v_data.eq(v_rd.data)]
    wiring.connect(m, feed.av, av.i)
    wiring.connect(m, av.o, feed.av_o)
    wiring.connect(m, feed.o, o)
    return feed


class AVFeeder(wiring.Component):
    """Feeds one row's A.V jobs (`av`) and labels their results (`o`); shape from `hw`."""

    def __init__(self, hw: HardwareConfig):
        self.hw = hw
        self.ac_n = exec_shape(hw)[3]
        L, A, i8 = hw.max_seq_len, hw.av_lanes, signed(8)
        idx = unsigned(hw.seq_index_width)
        super().__init__({
            "start": In(1), "start_row": In(idx), "start_bank": In(1), "start_len": In(range(L + 1)),
            "active": Out(1),
            "kl_addr": Out(range(2 * L)), "kl_data": In(idx),              # key list (both banks)
            "pb_addr": Out(range(2 * L)), "pb_data": In(unsigned(16)),     # probabilities (both banks)
            "v_addr": Out(idx), "v_en": Out(1), "v_data": In(data.ArrayLayout(i8, hw.head_dim)),
            "av": Out(stream.Signature(av_beat_layout(A))),
            "av_o": In(stream.Signature(data.ArrayLayout(i8, A))),
            "o": Out(stream.Signature(o_layout(hw))),
        })

    def elaborate(self, platform):
        m = Module()
        hw, AC, L, A = self.hw, self.ac_n, self.hw.max_seq_len, self.hw.av_lanes
        row = Signal(unsigned(hw.seq_index_width))
        bank = Signal()
        n = Signal(range(L + 1))             # the row's kept keys
        k = Signal(range(L + 1))             # key index of the next beat
        jc = Signal(range(AC))               # job (chunk of dh) of the next beat
        jc_beat = Signal(range(AC))          # job of the beat in the input register
        issuing = Signal()
        beat_v = Signal()
        beat_p = Signal(16)
        beat_first = Signal()
        beat_last = Signal()
        adv = ~beat_v | self.av.ready
        addr = k + Mux(bank, L, 0)
        m.d.comb += [self.kl_addr.eq(addr), self.pb_addr.eq(addr), self.v_addr.eq(self.kl_data),
                     self.v_en.eq(adv), self.av.valid.eq(beat_v), self.av.payload.p.eq(beat_p),
                     self.av.payload.first.eq(beat_first), self.av.payload.last.eq(beat_last)]
        v_chunks = data.View(data.ArrayLayout(data.ArrayLayout(signed(8), A), AC), self.v_data.as_value())
        with m.Switch(jc_beat):
            for c in range(AC):
                with m.Case(c):
                    m.d.comb += self.av.payload.v.eq(v_chunks[c])
        with m.If(adv):
            m.d.sync += beat_v.eq(0)
            with m.If(issuing):
                m.d.sync += [beat_v.eq(1), beat_p.eq(self.pb_data), beat_first.eq(k == 0),
                             beat_last.eq(k == n - 1), jc_beat.eq(jc)]
                step_nested(m, k, n - 1, jc, AC - 1, issuing)
        chunk = Signal(range(AC + 1))
        o_fire = self.o.valid & self.o.ready
        m.d.comb += [self.o.valid.eq(self.av_o.valid), self.av_o.ready.eq(self.o.ready),
                     self.o.payload.row.eq(row), self.o.payload.chunk.eq(chunk),
                     self.o.payload.data.eq(self.av_o.payload)]
        with m.If(o_fire):
            m.d.sync += chunk.eq(chunk + 1)
            with m.If(chunk == AC - 1):
                m.d.sync += self.active.eq(0)
        with m.If(self.start & ~self.active):
            m.d.sync += [self.active.eq(1), issuing.eq(1), k.eq(0), jc.eq(0), chunk.eq(0),
                         row.eq(self.start_row), bank.eq(self.start_bank), n.eq(self.start_len)]
        return m
