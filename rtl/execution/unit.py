"""Execution unit of SPEC section 4: on-demand K/V projection, masked Q.K, integer softmax, A.V.

Processes one KV head and the `n_q_heads` query heads that share it (grouped-query attention),
in phases; the speculation unit's results arrive as streams, so this unit never sees a mask
that it would have to scan:

1. LOAD: `x` (L rows, each D / mac_cols beats of mac_cols int8, row-major) into the x buffer,
   `wk`, `wv` (weight tiles, see below) into the weight buffers, all three concurrently.
   With a predictor that reads exact rows (sanger, topk: `rtl.predictors.slot.FEEDS`) a pre-phase
   follows (`rtl/execution/prephase.py`: k of every token, each query head's q rows to the
   predictor, topk's scores over C_1); the KV phase then projects V only.
2. KV: `needed` (key indices, `last` on the final one; key_needed as a list, or kept-key lists
   with repeats) goes through `KVControl`, which passes each key once; for each, the K row then
   the V row is projected on the MAC array (SPEC 4.2), requantized with (m_k, n_k) / (m_v, n_v)
   and written to the K / V buffer. Keys not requested are never computed.
3. Per query head: `wq` tiles into the weight buffer, then for every token t (SPEC 4.1, 4.3-4.5):
   project q[t] (m_q, n_q); take row t's kept keys from `kept` (`last` on the row's final key);
   one score S[t, s] per kept key on the MAC array (all rows x cols PEs on one key); the integer
   softmax; then A.V on the A.V array, dh / av_lanes jobs over the row's kept keys, and o.
Weight tiles: beat (jt, ic), jt outer, ic inner, element [r][c] = w[ic*mac_cols + c, jt*mac_rows + r].
Every projected row leaves the MAC array through the projection back end
(`rtl/execution/projection.py`: requant, row register, RoPE table loaded through `rope_w_*`,
rotator; q and k rotated when `config.rope` = 1), then goes to the K/V buffers, q and `proj`.

Outputs: `proj` (q, k and v rows as they are computed, after rotation: kind 0/1/2, row, dh int8),
`probs` (P[t, s] of every kept pair, in `kept` order, `last` per row), `o` (row t, chunk,
av_lanes int8). Configuration (`config`, SPEC 5) is read at run time and must stay stable
while the unit is busy. `perf` counts, since reset, busy cycles (from the first input beat),
beats taken by the MAC array and by the A.V array, and K/V rows computed (cycle figures).

Rows flow in a two-stage pipeline: while the A.V array works on row t (its kept keys and
probabilities in one bank of the key/probability buffers), row t+1 is projected, scored and
normalized into the other bank.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig

from rtl.execution.av_array import AVArray
from rtl.execution.av_feeder import attach_feeder, store_probs
from rtl.execution.layouts import (KIND_K, KIND_Q, KIND_V, exec_config_layout, exec_shape, o_layout, proj_layout,
                           step_nested)
from rtl.execution.kv_control import COUNT_WIDTH, KVControl, kv_request_layout
from rtl.execution.mac_array import MACArray, mac_routes
from rtl.execution.prephase import PrePhase, pre_state, route_rows, scores_sink
from rtl.registry import block
from rtl.execution.projection import ProjectionFeed, ProjectionOutput
from rtl.predictors.slot import feeds, row_layout, score_layout
from rtl.common.rope import rope_table_layout
from rtl.execution.softmax import Softmax, prob_beat

__all__ = ["KIND_Q", "KIND_K", "KIND_V", "exec_config_layout", "exec_shape", "proj_layout", "o_layout", "step_nested", "ExecutionUnit"]

class ExecutionUnit(wiring.Component):
    """The execution unit of one KV head group; shape from `cfg.hw`, arithmetic at run time."""

    def __init__(self, cfg):
        hw = cfg.hw
        self.hw = hw
        self.ic_n, self.jt_n, self.qc_n, self.ac_n = exec_shape(hw)
        R, C, A, dh = hw.mac_rows, hw.mac_cols, hw.av_lanes, hw.head_dim
        self.idx_width = hw.seq_index_width
        self.mac_acc_width = hw.mac_array_acc_width
        self.feeds = feeds(hw)          # what the predictor takes from the pre-phase (none: no pre-phase)
        i8 = signed(8)
        tile = data.ArrayLayout(data.ArrayLayout(i8, C), R)
        extra = {f"feed_{n}": Out(stream.Signature(row_layout(hw))) for n in ("k", "q") if n in self.feeds}
        if "scores" in self.feeds:
            extra.update(feed_scores=Out(stream.Signature(score_layout(hw))), causal=In(1))
        super().__init__({**extra,
            "config": In(exec_config_layout(hw)),
            "x": In(stream.Signature(data.ArrayLayout(i8, C))),
            "wq": In(stream.Signature(tile)),
            "wk": In(stream.Signature(tile)),
            "wv": In(stream.Signature(tile)),
            "needed": In(stream.Signature(kv_request_layout(self.idx_width))),
            "kept": In(stream.Signature(kv_request_layout(self.idx_width))),
            "proj": Out(stream.Signature(proj_layout(hw))),
            "probs": Out(stream.Signature(prob_beat())),
            "o": Out(stream.Signature(o_layout(hw))),
            "busy": Out(1),
            "rope_w_en": In(1),
            "rope_w_addr": In(unsigned(self.idx_width)),
            "rope_w_data": In(rope_table_layout(dh)),
            "perf": Out(data.StructLayout({"cycles": COUNT_WIDTH, "mac_beats": COUNT_WIDTH,
                                           "av_beats": COUNT_WIDTH, "kv_rows": COUNT_WIDTH})),
        })

    def elaborate(self, platform):
        m = Module()
        hw, cfg = self.hw, self.config
        R, C, A, dh, L = hw.mac_rows, hw.mac_cols, hw.av_lanes, hw.head_dim, hw.max_seq_len
        IC, JT, QC, AC = self.ic_n, self.jt_n, self.qc_n, self.ac_n
        i8 = signed(8)
        tile = data.ArrayLayout(data.ArrayLayout(i8, C), R)

        # Sub-blocks.
        m.submodules.mac = mac = MACArray(rows=R, cols=C, acc_width=self.mac_acc_width)
        m.submodules.proj_out = po = ProjectionOutput(hw)
        m.submodules.softmax = sm = Softmax(score_width=hw.score_width, max_len=L)
        m.submodules.av = av = AVArray(lanes=A, acc_width=hw.av_acc_width)
        m.submodules.kv = kv = KVControl(max_seq_len=L)
        m.d.comb += [sm.sm_mult.eq(cfg.sm_mult), sm.sm_shift.eq(cfg.sm_shift),
                     sm.sm_frac_bits.eq(cfg.sm_frac_bits), av.m_o.eq(cfg.m_o), av.n_o.eq(cfg.n_o)]
        wiring.connect(m, wiring.flipped(self.needed), kv.i)   # KVControl ends a KV head at `last`

        # On-chip buffers (x and weight tiles: in the projection feed).
        m.submodules.proj_feed = pf = ProjectionFeed(hw)
        for name in ("x", "wq", "wk", "wv"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(pf, name))
        m.d.comb += pf.seq_len.eq(cfg.seq_len)
        m.submodules.k_buf = k_buf = Memory(shape=data.ArrayLayout(i8, dh), depth=L, init=[])
        m.submodules.v_buf = v_buf = Memory(shape=data.ArrayLayout(i8, dh), depth=L, init=[])
        # Two banks each: the A.V of row t reads one while row t+1 is scored into the other.
        m.submodules.key_list = key_list = Memory(shape=unsigned(self.idx_width), depth=2 * L, init=[])
        m.submodules.prob_buf = prob_buf = Memory(shape=unsigned(16), depth=2 * L, init=[])
        bank = Signal()            # bank of the row being scored

        def banked(b, idx):
            return idx + Mux(b, L, 0)

        # ---- Projection (`rtl/execution/projection.py`): row `pf.row` of x times the weights.
        p_done = Signal()
        mode_score = Signal()                # MAC array fed by the score path, else projection

        # MAC input stage: one registered beat, refilled whenever the array takes it.
        mac_v = Signal()
        mac_first = Signal()
        mac_last = Signal()
        adv = ~mac_v | mac.i.ready
        m.d.comb += [mac.i.valid.eq(mac_v), mac.i.payload.first.eq(mac_first),
                     mac.i.payload.last.eq(mac_last)]
        with m.If(adv):
            m.d.sync += mac_v.eq(0)
        m.d.comb += pf.adv.eq(adv)
        with m.If(pf.beat):
            m.d.sync += [mac_v.eq(1), mac_first.eq(pf.first), mac_last.eq(pf.last)]

        # The projection's requant scale, registered when it starts (no kind mux before the
        # requant's multiplier: that path set the unit's Fmax).
        sel = {KIND_Q: ("m_q", "n_q"), KIND_K: ("m_k", "n_k"), KIND_V: ("m_v", "n_v")}
        p_m, p_n = Signal.like(po.m), Signal.like(po.n)

        def start_projection(kind, row):
            mn, nn = sel[kind]
            m.d.comb += [pf.start.eq(1), pf.start_kind.eq(kind), pf.start_row.eq(row)]
            m.d.sync += [p_m.eq(cfg[mn]), p_n.eq(cfg[nn])]

        # The row (requantized, rotated: `ProjectionOutput`) to the K/V buffers, q and `proj`.
        m.d.comb += [po.m.eq(p_m), po.n.eq(p_n), po.kind.eq(pf.kind), po.row.eq(pf.row), po.rope.eq(cfg.rope),
                     po.rope_w_en.eq(self.rope_w_en), po.rope_w_addr.eq(self.rope_w_addr),
                     po.rope_w_data.eq(self.rope_w_data)]
        q_row = Signal(data.ArrayLayout(i8, dh))
        k_wr = k_buf.write_port()
        v_wr = v_buf.write_port()
        in_pre = Signal()                    # the pre-phase runs (state PRE)
        route_rows(m, self, po.o, pf.kind, in_pre)
        proj_fire = po.o.valid & po.o.ready
        m.d.comb += [
            k_wr.addr.eq(pf.row), v_wr.addr.eq(pf.row), k_wr.data.eq(po.o.payload.data),
            v_wr.data.eq(po.o.payload.data), p_done.eq(proj_fire),
            k_wr.en.eq(proj_fire & (pf.kind == KIND_K)), v_wr.en.eq(proj_fire & (pf.kind == KIND_V)),
        ]
        with m.If(proj_fire & (pf.kind == KIND_Q)):
            m.d.sync += q_row.eq(po.o.payload.data)

        # ---- Score path: q[t] . k[s] for each kept key, QC beats over all R x C PEs.
        k_rd = k_buf.read_port()
        s_qc = Signal(range(QC))
        s_qc_beat = Signal(range(QC))       # chunk of the beat in the MAC input stage
        kl_wr = key_list.write_port()
        n_kept = Signal(range(L + 1))       # kept keys accepted in this row
        row_len = Signal(range(L + 1))
        row_known = Signal()
        n_scored = Signal(range(L + 1))
        score_issue = Signal()
        # the keys to score: row t's kept keys, or (topk's pre-phase) every key of C_1[t] (`pre.key`)
        key_valid, key, key_last = self.kept.valid, self.kept.payload.key, self.kept.payload.last
        if self.feeds:
            m.submodules.pre = pre = PrePhase(hw, scores="scores" in self.feeds)
            key_valid, key, key_last = in_pre | key_valid, Mux(in_pre, pre.key, key), Mux(in_pre, pre.key_last, key_last)
        key_take = score_issue & adv & (s_qc == QC - 1)
        kept_fire = key_take & key_valid
        m.d.comb += [
            k_rd.addr.eq(key), k_rd.en.eq(adv), self.kept.ready.eq(key_take & ~in_pre),
            kl_wr.addr.eq(banked(bank, n_kept)), kl_wr.data.eq(key), kl_wr.en.eq(kept_fire),
        ]
        with m.If(score_issue & adv & key_valid):
            m.d.sync += [mac_v.eq(1), mac_first.eq(s_qc == 0), mac_last.eq(s_qc == QC - 1),
                         s_qc_beat.eq(s_qc), s_qc.eq(Mux(s_qc == QC - 1, 0, s_qc + 1))]
        with m.If(kept_fire):
            m.d.sync += n_kept.eq(n_kept + 1)
            with m.If(key_last):
                m.d.sync += [row_len.eq(n_kept + 1), row_known.eq(1)]

        # MAC operands (x chunk and weight tile, or q and k chunks) and results (to the requant,
        # or summed over the rows into the softmax): `rtl/execution/mac_array.py`'s `mac_routes`.
        score_last = row_known & (n_scored == row_len - 1)
        score = mac_routes(m, mac, mode_score, s_qc_beat, q_row, k_rd.data, pf, po.i, sm.i, score_last, hw.score_width)
        score_fire = sm.i.valid & sm.i.ready
        if "scores" in self.feeds:   # topk's pre-phase: S[t, s] to the predictor, not the softmax
            score_fire = score_fire | scores_sink(m, self.feed_scores, pre, mac.o, sm.i, score, n_scored,
                                                  score_last, mode_score & in_pre)
        with m.If(score_fire):
            m.d.sync += n_scored.eq(n_scored + 1)

        # ---- Probabilities: out on `probs` and into the row's buffer for A.V.
        n_probs = Signal(range(L + 1))
        probs_done = store_probs(m, sm.o, wiring.flipped(self.probs), prob_buf, banked(bank, n_probs), n_probs)

        # ---- A.V: the feeder runs a finished row's AC jobs on its own (`rtl/execution/av_feeder.py`),
        # handed its bank, length and index while the next row is projected and scored.
        feed = attach_feeder(m, hw, av, key_list, prob_buf, v_buf, wiring.flipped(self.o))
        t = Signal(self.idx_width)

        # ---- Sequencer.
        head = Signal(range(hw.n_heads + 1))
        perf = self.perf
        with m.If(self.busy):
            m.d.sync += perf.cycles.eq(perf.cycles + 1)
        with m.If(mac.i.valid & mac.i.ready):
            m.d.sync += perf.mac_beats.eq(perf.mac_beats + 1)
        with m.If(av.i.valid & av.i.ready):
            m.d.sync += perf.av_beats.eq(perf.av_beats + 1)

        def start_row(row):
            start_projection(KIND_Q, row)
            m.d.sync += [t.eq(row), n_kept.eq(0), row_known.eq(0), n_scored.eq(0), n_probs.eq(0)]

        with m.FSM():
            with m.State("START"):
                m.d.comb += kv.clear.eq(1)
                m.d.comb += pf.clear.eq(1)
                m.d.sync += head.eq(0)
                m.next = "LOAD"
            with m.State("LOAD"):
                # busy (and the cycle count) from the first beat in, not while waiting for it
                m.d.comb += [pf.load.eq(1), self.busy.eq(pf.any_in)]
                with m.If(pf.loaded):
                    m.next = "PRE" if self.feeds else "KV_WAIT"
            if self.feeds:
                with m.State("PRE"):   # `rtl/execution/prephase.py`: k of every token, q rows (topk: scored)
                    pre_state(m, self, pre, pf, start_projection, in_pre, p_done, kept_fire)
                    with m.If(pre.score):   # topk: row t's scores over C_1[t]
                        m.d.sync += [mode_score.eq(1), s_qc.eq(0), n_kept.eq(0), row_known.eq(0), n_scored.eq(0)]
                    m.d.comb += score_issue.eq(mode_score & ~row_known)
                    with m.If(pre.score_done):
                        m.d.sync += mode_score.eq(0)
                    with m.If(pre.done):
                        m.next = "KV_WAIT"
            with m.State("KV_WAIT"):
                m.d.comb += self.busy.eq(1)
                with m.If(kv.o.valid):
                    with m.If(kv.o.payload.compute):   # with a pre-phase, K is in its buffer: V only
                        start_projection(KIND_V if self.feeds else KIND_K, kv.o.payload.key)
                        m.next = "KV_V" if self.feeds else "KV_K"
                    with m.Else():
                        m.d.comb += kv.o.ready.eq(1)
                        with m.If(kv.o.payload.last):
                            m.d.comb += pf.clear_q.eq(1)
                            m.next = "Q_LOAD"
            with m.State("KV_K"):
                m.d.comb += self.busy.eq(1)
                with m.If(p_done):
                    start_projection(KIND_V, pf.row)
                    m.next = "KV_V"
            with m.State("KV_V"):
                m.d.comb += self.busy.eq(1)
                with m.If(p_done):
                    m.d.comb += kv.o.ready.eq(1)
                    m.d.sync += perf.kv_rows.eq(perf.kv_rows + 1)
                    with m.If(kv.o.payload.last):
                        m.d.comb += pf.clear_q.eq(1)
                        m.next = "Q_LOAD"
                    with m.Else():
                        m.next = "KV_WAIT"
            with m.State("Q_LOAD"):
                m.d.comb += [pf.load_q.eq(1), self.busy.eq(1)]
                with m.If(pf.q_loaded):
                    start_row(0)
                    m.next = "Q_PROJ"
            with m.State("Q_PROJ"):
                m.d.comb += self.busy.eq(1)
                with m.If(p_done):
                    m.d.sync += [mode_score.eq(1), s_qc.eq(0)]
                    m.next = "SCORE"
            with m.State("SCORE"):
                m.d.comb += [score_issue.eq(~row_known), self.busy.eq(1)]
                with m.If(probs_done):
                    m.d.sync += mode_score.eq(0)
                    m.next = "HANDOFF"
            with m.State("HANDOFF"):
                m.d.comb += self.busy.eq(1)
                m.d.comb += [feed.start.eq(1), feed.start_row.eq(t), feed.start_bank.eq(bank),
                             feed.start_len.eq(row_len)]
                with m.If(~feed.active):
                    m.d.sync += bank.eq(~bank)
                    with m.If(t + 1 < cfg.seq_len):
                        start_row(t + 1)
                        m.next = "Q_PROJ"
                    with m.Elif(head + 1 < cfg.n_q_heads):
                        m.d.comb += pf.clear_q.eq(1)
                        m.d.sync += head.eq(head + 1)
                        m.next = "Q_LOAD"
                    with m.Else():
                        m.next = "DRAIN"
            with m.State("DRAIN"):
                # the V buffer is rewritten by the next KV head: let the last A.V finish first
                m.d.comb += self.busy.eq(1)
                with m.If(~feed.active):
                    m.next = "START"
        return m


@block("execution", unit="execution")
def _execution(cfg):
    """Execution unit: on-demand K/V, masked Q.K, integer softmax, A.V (one KV head group)."""
    return ExecutionUnit(cfg)

