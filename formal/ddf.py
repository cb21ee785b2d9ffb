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

`DDFListRules` proves the list structure alone (every list started ends with a `last` beat,
nothing outside a list) by k-induction, with those buffer invariants (the maximum's entry,
booked by a ghost register, read through the harness's own asynchronous read ports).
"""

from amaranth.hdl import Assert, Assume, Cat, Cover, Mux, Signal, signed

from rtl.speculation.ddf import DDF

from .harness import Harness, channels, hold_rule, named

__all__ = ["DDFRules", "DDFListRules", "ddf_list_checks", "drain_cycles"]


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


class DDFListRules(Harness):
    """k-induction: the DDF ends every list it starts emitting with a `last` beat, emits nothing
    outside a list, and a `last` beat closes its list (nothing of it follows). Stated at the
    emit side: a beat on `o` only in `emit`; `emit` is left (for `idle`) only in the cycle its
    `last` beat is taken; a beat without `last` leaves a survivor pending (so another beat, the
    list's end, follows); a `last` beat only once the list's entries are all read.

    Environment as DDFRules: `i` keeps the stream rules, a row holds 1..max_len candidates.

    Why it holds (the asserted invariants, which close the induction): each list's maximum is
    stored in its bank (a ghost register `*_maxpos` books where; the buffer is read through
    extra asynchronous read ports of the harness), phi <= max whatever `eta` / `margin`, and
    the emit side passes the maximum's entry before reaching the end, so a survivor is pending
    at the end; the emit side reads the bank the collect side does not write."""

    def elaborate_props(self, m, dut):
        i_ch = next(ch for ch in channels(dut) if ch.name == "i")
        m.d.comb += Assume(hold_rule(m, i_ch, self.armed), "i stream rules")
        row_bound, checks = ddf_list_checks(m, dut, self.body)
        m.d.comb += Assume(row_bound, "a row holds at most max_len")
        m.d.comb += [Assert(holds, text) for text, holds in checks.items()]


def ddf_list_checks(m, dut, body):
    """The DDF lemma of DDFListRules for the block `dut` elaborated as `body` (its Module, in
    the proof's design), for any harness that contains it: (the environment's row bound on
    `dut.i`, to assume; {text: condition} the lemma and its invariants, to assert). Adds the
    ghost registers and the buffer's asynchronous read ports to `m`."""
    n = dut.max_len
    g, beat = (lambda name: named(body, name)), dut.i.payload
    fsm = body._generated["fsm"]
    idle, emit = fsm.ongoing("idle"), fsm.ongoing("emit")
    buf = body._named_submodules["buf"][0]
    rd = buf.read_ports[0]
    c_count, c_done, c_mx, c_mn, c_bank = g("c_count"), g("c_done"), g("c_mx"), g("c_mn"), g("c_bank")
    e_count, e_mx, e_mn, e_bank = g("e_count"), g("e_mx"), g("e_mn"), g("e_bank")
    pos, phi, pend_valid = g("pos"), g("phi"), g("pend_valid")
    stall = dut.o.valid & ~dut.o.ready
    more = pos < e_count

    in_count = Signal(range(n + 1))   # beats of the row being taken (the environment's view)
    took = dut.i.valid & dut.i.ready
    row_bound = ~dut.i.valid | (in_count < n - 1) | beat.last
    with m.If(took):
        m.d.sync += in_count.eq(Mux(beat.last, 0, in_count + 1))

    # ghosts: where each bank's maximum was written
    c_maxpos, e_maxpos = Signal(range(n), name="c_maxpos"), Signal(range(n), name="e_maxpos")
    with m.If(took & ((c_count == 0) | (beat.score > c_mx))):
        m.d.sync += c_maxpos.eq(c_count)
    with m.If(idle & c_done):
        m.d.sync += e_maxpos.eq(c_maxpos)

    def entry(addr):
        port = buf.read_port(domain="comb")
        m.d.comb += port.addr.eq(addr)
        return port.data

    base = lambda bank: Mux(bank, n, 0)
    c_max_entry, e_max_entry = entry(base(c_bank) + c_maxpos), entry(base(e_bank) + e_maxpos)
    at_pos = entry(base(e_bank) + pos)
    return row_bound, {
        # the lemma
        "o only while a list is emitted": ~dut.o.valid | emit,
        "a list left without its last beat":
            ~(emit & ~stall & ~more & ~pend_valid) | (dut.o.valid & dut.o.ready & dut.o.payload.last),
        "a beat without last and nothing pending": ~dut.o.valid | dut.o.payload.last | pend_valid,
        "a last beat before the list's end": ~(dut.o.valid & dut.o.payload.last) | (~more & ~pend_valid),
        # invariants
        "FSM state legal": Cat(fsm.ongoing(s) for s in fsm.encoding).any(),
        "c_count: the row's beats taken": Mux(c_done, (c_count >= 1) & (c_count <= n) & (in_count == 0),
                                              (c_count == in_count) & (c_count < n)),
        "the collected maximum is stored at c_maxpos":
            (c_count == 0) | ((c_maxpos < c_count) & (c_max_entry.score == c_mx) & (c_mn <= c_mx)),
        "the emitted list's maximum is stored at e_maxpos, in the other bank":
            idle | ((e_count >= 1) & (e_count <= n) & (e_maxpos < e_count) & (e_max_entry.score == e_mx)
                    & (e_mn <= e_mx) & (e_bank != c_bank)),
        "emit: phi <= max; the maximum not yet passed, a survivor pending or the last beat out":
            ~emit | ((pos <= e_count) & (phi <= e_mx)
                     & (pend_valid | (e_maxpos >= pos) | (dut.o.valid & dut.o.payload.last))),
        "emit: rd.data is the entry at pos": ~emit | ~more | (rd.data.as_value() == at_pos.as_value()),
    }
