"""The execution unit's pre-phase for the predictors that read exact rows (SPEC 8 sanger, topk).

Generated only when the predictor in the slot takes the unit's exact `k` / `q` rows or `scores`
(`rtl.predictors.slot.FEEDS`); LAPA's and dense's execution units have none of it. Per KV head,
after LOAD (x, wk, wv in the projection feed) and before the KV phase, `PrePhase` sequences:
1. K: k[s] of every token s = 0..seq_len-1 in order (projected, requantized, rotated), into the
   unit's K buffer, out on `proj` (trace) and, for sanger, to the slot's `k`;
2. per query head: its wq tiles (`load_q`, after `clear_q`), then q[t] for t = 0..seq_len-1 in
   order: to the slot's `q` (sanger) or (topk, `scores`) into the unit's q register, then scored
   on the MAC array against every key of C_1[t] (s <= t when `causal`, else s < seq_len) read
   from the K buffer, S[t, s] to the slot's `scores`.
The KV phase then projects only V (K is in the buffer), and phase 3 re-fetches wq and projects
q once more (the pre-phase's q rows are not kept: an L x dh buffer per query head would be needed).
The predictor back-pressures `k` / `q` / `scores`, so its jobs (one per query head) may start
while the pre-phase runs.

Interface (the unit's side): `run` (the unit is in its PRE state), `done` (one cycle, last row
finished); `start_k` / `start_q` start a projection of row `start_row` (the unit registers the
kind's scale and issues it), `p_done` is its row leaving the projection back end; `score`
(one cycle) begins scoring row `t` over keys 0..`key_end`, `score_done` says its last score
was taken. `head` is the query head whose wq is loaded.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PrePhase", "row_fork"]


def row_fork(m, name, valid, sinks):
    """One beat offered to several `(stream, enable)` sinks: each enabled sink gets it once
    (valid held until its ready, a sink that took it waits for the rest); returns `ready` (every
    enabled sink has it)."""
    ready = 1
    sent = []
    for k, (s, en) in enumerate(sinks):
        got = Signal(name=f"{name}_sent{k}")
        m.d.comb += s.valid.eq(valid & en & ~got)
        ready = ready & (~en | got | s.ready)
        sent.append((got, s))
    for got, s in sent:
        with m.If(valid & ready):
            m.d.sync += got.eq(0)
        with m.Elif(s.valid & s.ready):
            m.d.sync += got.eq(1)
    return ready


class PrePhase(wiring.Component):
    """The pre-phase's sequencer of one KV head (see module docstring); `scores`: topk's scoring."""

    def __init__(self, hw, *, scores):
        self.hw, self.scores = hw, scores
        iw = hw.seq_index_width
        super().__init__({
            "run": In(1), "done": Out(1),
            "seq_len": In(unsigned(hw.max_seq_len.bit_length())), "n_q_heads": In(unsigned(hw.n_heads.bit_length())),
            "causal": In(1),
            "start_k": Out(1), "start_q": Out(1), "start_row": Out(unsigned(iw)), "p_done": In(1),
            "load_q": Out(1), "clear_q": Out(1), "q_loaded": In(1),
            "score": Out(1), "t": Out(unsigned(iw)), "key_end": Out(unsigned(iw)), "score_done": In(1),
            "head": Out(range(hw.n_heads + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        t, last = self.t, self.seq_len - 1
        m.d.comb += self.key_end.eq(Mux(self.causal, t, last))

        def next_q_row():
            """Row t is finished: the next q row, the next head's wq, or the end."""
            with m.If(t != last):
                m.d.comb += [self.start_q.eq(1), self.start_row.eq(t + 1)]
                m.d.sync += t.eq(t + 1)
                m.next = "Q"
            with m.Elif(self.head + 1 < self.n_q_heads):
                m.d.comb += self.clear_q.eq(1)
                m.d.sync += self.head.eq(self.head + 1)
                m.next = "WQ"
            with m.Else():
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.run):
                    m.d.comb += [self.start_k.eq(1), self.start_row.eq(0)]
                    m.d.sync += [t.eq(0), self.head.eq(0)]
                    m.next = "K"
            with m.State("K"):
                with m.If(self.p_done):
                    with m.If(t != last):
                        m.d.comb += [self.start_k.eq(1), self.start_row.eq(t + 1)]
                        m.d.sync += t.eq(t + 1)
                    with m.Else():
                        m.d.comb += self.clear_q.eq(1)
                        m.next = "WQ"
            with m.State("WQ"):
                m.d.comb += self.load_q.eq(1)
                with m.If(self.q_loaded):
                    m.d.comb += [self.start_q.eq(1), self.start_row.eq(0)]
                    m.d.sync += t.eq(0)
                    m.next = "Q"
            with m.State("Q"):
                with m.If(self.p_done):
                    if self.scores:
                        m.d.comb += self.score.eq(1)
                        m.next = "SCORE"
                    else:
                        next_q_row()
            if self.scores:
                with m.State("SCORE"):
                    with m.If(self.score_done):
                        next_q_row()
        return m
