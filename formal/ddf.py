"""DDF proofs (SPEC 3.5): every row's output holds the row's maximum score, no output beat lies
above its row's maximum, and no row is lost or emptied.

The wrapper books the input rows (the running maximum of the row being collected, then a queue
of the maxima of complete rows not yet emitted) and checks each output row against the head of
the queue. An empty row would leave its entry in the queue: after `drain` cycles with no input
and `o` always ready, the queue must be empty (all rows ended by a `last`).

Environment: `i` keeps the stream rules and a row holds 1..max_len candidates (`last` at the
latest on the max_len-th; the speculation unit sends at most L candidates a round). `ddf_mode`,
`eta`, `eta_frac_bits` and `margin` are free every cycle (no range assumed: phi <= max holds for
any eta >= 0 and margin >= 0).

Mode: bmc. The books would need invariants over the candidate buffer's contents (the maximum is
one of the stored entries) to close an induction; the depth covers several rows at the chosen
`max_len`, each drained.
"""

from amaranth.hdl import Assert, Assume, Cover, Mux, Signal, signed

from rtl.ddf import DDF

from .harness import Harness, channels, hold_rule

__all__ = ["DDFRules", "drain_cycles"]


def drain_cycles(max_len):
    """Cycles the DDF may need to emit two complete rows once its input is idle."""
    return 2 * (max_len + 4) + 1


class DDFRules(Harness):
    """`cover=True` adds the events a bounded proof must reach to mean something: a row of
    max_len candidates emitted, two rows back to back, and the drain check after a row."""

    def __init__(self, dut: DDF, cover=False):
        self.cover = cover
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        n, sw = dut.max_len, dut.score_width
        i_ch = next(ch for ch in channels(dut) if ch.name == "i")
        m.d.comb += Assume(hold_rule(m, i_ch, self.armed), "i stream rules")
        beat, out = dut.i.payload, dut.o.payload
        took = dut.i.valid & dut.i.ready
        sent = dut.o.valid & dut.o.ready

        in_count = Signal(range(n + 1))
        in_mx = Signal(signed(sw))
        m.d.comb += Assume(~dut.i.valid | (in_count < n - 1) | beat.last, "a row holds at most max_len")
        row_mx = Mux(in_count == 0, beat.score, Mux(beat.score > in_mx, beat.score, in_mx))

        # queue of the maxima of complete rows, oldest in q[0]
        depth = 3
        q = [Signal(signed(sw), name=f"q{k}") for k in range(depth)]
        q_n = Signal(range(depth + 1))
        out_seen = Signal()   # the current output row has shown its maximum
        push = took & beat.last
        pop = sent & out.last

        m.d.comb += [
            Assert(~sent | (q_n != 0), "an output beat with no complete input row"),
            Assert(~sent | (out.score <= q[0]), "an output beat above its row's maximum"),
            Assert(~pop | out_seen | (out.score == q[0]), "a row's maximum dropped"),
            Assert(~(push & ~pop & (q_n == depth)), "more rows in flight than the DDF buffers"),
        ]
        with m.If(took):
            m.d.sync += [in_count.eq(Mux(beat.last, 0, in_count + 1)), in_mx.eq(row_mx)]
        with m.If(sent):
            m.d.sync += out_seen.eq(~out.last & (out_seen | (out.score == q[0])))
        # the queue after a pop (shift) and a push (append at the new end)
        after_pop = [q[k + 1] for k in range(depth - 1)] + [q[depth - 1]]
        cur = [Mux(pop, after_pop[k], q[k]) for k in range(depth)]
        n_after_pop = Mux(pop, q_n - 1, q_n)
        for k in range(depth):
            m.d.sync += q[k].eq(Mux(push & (n_after_pop == k), row_mx, cur[k]))
        m.d.sync += q_n.eq(n_after_pop + push)

        # no row lost: after `drain` idle cycles with o ready, every complete row was emitted
        drain = drain_cycles(n)
        quiet = Signal(range(drain + 1))
        idle = ~dut.i.valid & dut.o.ready & (in_count == 0)
        m.d.sync += quiet.eq(Mux(idle, Mux(quiet == drain, quiet, quiet + 1), 0))
        m.d.comb += Assert(~self.armed | (quiet != drain) | (q_n == 0),
                           "a complete row never ended on o (empty or lost)")
        if self.cover:
            rows_out = Signal(2)
            full_row = Signal()        # a row of max_len candidates was taken
            with m.If(pop & (rows_out != 3)):
                m.d.sync += rows_out.eq(rows_out + 1)
            with m.If(push & (in_count == n - 1)):
                m.d.sync += full_row.eq(1)
            m.d.comb += [Cover(pop & full_row, "a row of max_len candidates emitted"),
                         Cover(pop & (rows_out == 1), "a second row emitted"),
                         Cover((quiet == drain) & (rows_out != 0), "the drain check after a row")]
