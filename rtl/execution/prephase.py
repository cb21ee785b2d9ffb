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
(one cycle) begins scoring row `t`: `key` counts the keys of C_1[t] (`key_last` on its final
one) as the score path takes them (`key_take`); `score_done` says its last score was taken. `head` is the query head whose wq is loaded.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from rtl.execution.layouts import KIND_K, KIND_Q

__all__ = ["PrePhase", "row_fork", "route_rows", "pre_state", "scores_sink"]


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


def route_rows(m, unit, rows, kind, in_pre):
    """The projection back end's rows (`rows`, of `kind`) to `unit.proj` and, in the pre-phase, to
    the predictor: k rows to `proj` and `feed_k` (sanger), q rows to `feed_q` (sanger) or to none
    (topk: the unit's q register only); without a pre-phase straight to `proj`."""
    if not unit.feeds:
        wiring.connect(m, rows, wiring.flipped(unit.proj))
        return
    pre_q = in_pre & (kind == KIND_Q)
    sinks = [(unit.proj, ~pre_q)] + [(getattr(unit, f"feed_{n}"), in_pre & (kind == k))
                                     for n, k in (("k", KIND_K), ("q", KIND_Q)) if n in unit.feeds]
    m.d.comb += rows.ready.eq(row_fork(m, "row", rows.valid, sinks))
    m.d.comb += unit.proj.payload.eq(rows.payload)
    m.d.comb += [s.payload.row.eq(rows.payload.row) for s, _ in sinks[1:]]
    m.d.comb += [s.payload.data.eq(rows.payload.data) for s, _ in sinks[1:]]


def pre_state(m, unit, pre, pf, start_projection, in_pre, p_done, key_fire):
    """The execution unit's PRE state: the pre-phase sequencer `pre` drives the projection feed
    `pf` (its wq load, the rows it starts through `start_projection`); `key_fire`: a key taken
    by the score path."""
    cfg = unit.config
    m.d.comb += [unit.busy.eq(1), in_pre.eq(1), pre.run.eq(1), pf.load_q.eq(pre.load_q),
                 pf.clear_q.eq(pre.clear_q), pre.key_take.eq(key_fire)]
    m.d.comb += [pre.seq_len.eq(cfg.seq_len), pre.n_q_heads.eq(cfg.n_q_heads), pre.p_done.eq(p_done),
                 pre.q_loaded.eq(pf.q_loaded), pre.causal.eq(unit.causal if "scores" in unit.feeds else 0)]
    with m.If(pre.start_k):
        start_projection(KIND_K, pre.start_row)
    with m.If(pre.start_q):
        start_projection(KIND_Q, pre.start_row)


def scores_sink(m, scores, pre, mac_o, sm_i, score, n_scored, score_last, active):
    """While `active` (topk's pre-phase scoring), the MAC array's scores (`score`, the row's
    `n_scored`-th key, `last` with `score_last`) go to `scores` instead of the softmax input `sm_i`;
    returns the cycle a score is taken."""
    fire = scores.valid & scores.ready
    m.d.comb += [scores.payload.row.eq(pre.t), scores.payload.key.eq(n_scored), scores.payload.score.eq(score),
                 scores.payload.last.eq(score_last), pre.score_done.eq(fire & score_last)]
    with m.If(active):
        m.d.comb += [scores.valid.eq(mac_o.valid), mac_o.ready.eq(scores.ready), sm_i.valid.eq(0)]
    return fire


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
            "score": Out(1), "t": Out(unsigned(iw)), "score_done": In(1),
            "key": Out(unsigned(iw)), "key_last": Out(1), "key_take": In(1),
            "head": Out(range(hw.n_heads + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        t, last = self.t, self.seq_len - 1
        m.d.comb += self.key_last.eq(self.key == Mux(self.causal, t, last))
        with m.If(self.score):
            m.d.sync += self.key.eq(0)
        with m.If(self.key_take):
            m.d.sync += self.key.eq(self.key + 1)

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
