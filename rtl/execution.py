"""Execution unit of SPEC section 4: on-demand K/V projection, masked Q.K, integer softmax, A.V.

Processes one KV head and the `n_q_heads` query heads that share it (grouped-query attention),
in phases; the speculation unit's results arrive as streams, so this unit never sees a mask
that it would have to scan:

1. LOAD: `x` (L rows, each D / mac_cols beats of mac_cols int8, row-major) into the x buffer,
   `wk`, `wv` (weight tiles, see below) into the weight buffers, all three concurrently.
2. KV: `needed` (key indices, `last` on the final one; key_needed as a list, or kept-key lists
   with repeats) goes through `KVControl`, which passes each key once; for each, the K row then
   the V row is projected on the MAC array (SPEC 4.2), requantized with (m_k, n_k) / (m_v, n_v)
   and written to the K / V buffer. Keys not requested are never computed.
3. Per query head: `wq` tiles into the weight buffer, then for every token t (SPEC 4.1, 4.3-4.5):
   project q[t] (m_q, n_q); take row t's kept keys from `kept` (`last` on the row's final key);
   one score S[t, s] per kept key on the MAC array (all rows x cols PEs on one key); the integer
   softmax; then A.V on the A.V array, dh / av_lanes jobs over the row's kept keys, and o.
Weight tiles: beat (jt, ic), jt outer, ic inner, element [r][c] = w[ic*mac_cols + c, jt*mac_rows + r].
Every projected row is requantized in mac_rows-wide chunks into a row register, then passes the
shared RoPE rotator (`rtl/rope.py`): q and k are rotated when `config.rope` = 1 (SPEC 3a, 4.1-4.2),
with the (c, s) table row of its token, which the host loads through `rope_w_*` with
`golden.rope.rope_table(max_seq_len, dh, rope_base, pos0)` (row t = position pos0 + t).

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

from .av_array import AVArray
from .av_feeder import AVFeeder
from .exec_layouts import (KIND_K, KIND_Q, KIND_V, exec_config_layout, exec_shape, o_layout, proj_layout,
                           step_nested)
from .kv_control import COUNT_WIDTH, KVControl, kv_request_layout
from .mac_array import MACArray
from .registry import block
from .requant import Requant
from .rope import RopeRotator, RopeTable, rope_table_layout
from .softmax import Softmax, prob_beat

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
        i8 = signed(8)
        tile = data.ArrayLayout(data.ArrayLayout(i8, C), R)
        super().__init__({
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
        m.submodules.requant = rq = Requant(lanes=R, acc_width=self.mac_acc_width)
        m.submodules.softmax = sm = Softmax(score_width=hw.score_width, max_len=L)
        m.submodules.av = av = AVArray(lanes=A, acc_width=hw.av_acc_width)
        m.submodules.kv = kv = KVControl(max_seq_len=L)
        m.d.comb += [sm.sm_mult.eq(cfg.sm_mult), sm.sm_shift.eq(cfg.sm_shift),
                     sm.sm_frac_bits.eq(cfg.sm_frac_bits), av.m_o.eq(cfg.m_o), av.n_o.eq(cfg.n_o)]
        wiring.connect(m, wiring.flipped(self.needed), kv.i)   # KVControl ends a KV head at `last`

        # On-chip buffers.
        m.submodules.x_buf = x_buf = Memory(shape=data.ArrayLayout(i8, C), depth=L * IC, init=[])
        w_bufs = {}
        for name in ("wq", "wk", "wv"):
            w_bufs[name] = m.submodules[f"{name}_buf"] = Memory(shape=tile, depth=JT * IC, init=[])
        m.submodules.k_buf = k_buf = Memory(shape=data.ArrayLayout(i8, dh), depth=L, init=[])
        m.submodules.v_buf = v_buf = Memory(shape=data.ArrayLayout(i8, dh), depth=L, init=[])
        # Two banks each: the A.V of row t reads one while row t+1 is scored into the other.
        m.submodules.key_list = key_list = Memory(shape=unsigned(self.idx_width), depth=2 * L, init=[])
        m.submodules.prob_buf = prob_buf = Memory(shape=unsigned(16), depth=2 * L, init=[])
        bank = Signal()            # bank of the row being scored

        def banked(b, idx):
            return idx + Mux(b, L, 0)

        # ---- Loading x and weight tiles (address counters per stream).
        def loader(name, port, mem, count):
            wr = mem.write_port()
            addr = Signal(range(mem.depth + 1), name=f"{name}_addr")
            full = addr == count
            m.d.comb += [wr.addr.eq(addr), wr.data.eq(port.payload), wr.en.eq(port.valid & port.ready)]
            with m.If(port.valid & port.ready):
                m.d.sync += addr.eq(addr + 1)
            return addr, full

        load_en = Signal()
        wq_en = Signal()
        x_addr, x_full = loader("x", self.x, x_buf, cfg.seq_len * IC)
        wk_addr, wk_full = loader("wk", self.wk, w_bufs["wk"], JT * IC)
        wv_addr, wv_full = loader("wv", self.wv, w_bufs["wv"], JT * IC)
        wq_addr, wq_full = loader("wq", self.wq, w_bufs["wq"], JT * IC)
        m.d.comb += [self.x.ready.eq(load_en & ~x_full), self.wk.ready.eq(load_en & ~wk_full),
                     self.wv.ready.eq(load_en & ~wv_full), self.wq.ready.eq(wq_en & ~wq_full)]

        # ---- Projection engine: row `p_row` of x times the selected weights, JT chunks of R.
        p_kind = Signal(2)
        p_row = Signal(self.idx_width)
        p_jt = Signal(range(JT))
        p_ic = Signal(range(IC))
        p_issuing = Signal()
        p_out = Signal(range(JT + 2))      # chunks in the row register; JT + 1: row rotated
        p_done = Signal()
        x_rd = x_buf.read_port()
        w_rd = {name: mem.read_port() for name, mem in w_bufs.items()}
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
        x_base = Signal(range(L * IC))
        m.d.comb += [x_base.eq(p_row * IC), x_rd.addr.eq(x_base + p_ic), x_rd.en.eq(adv)]
        for rd in w_rd.values():
            m.d.comb += [rd.addr.eq(p_jt * IC + p_ic), rd.en.eq(adv)]
        with m.If(adv & p_issuing):
            m.d.sync += [mac_v.eq(1), mac_first.eq(p_ic == 0), mac_last.eq(p_ic == IC - 1)]
            step_nested(m, p_ic, IC - 1, p_jt, JT - 1, p_issuing)

        # The projection's requant scale, registered when it starts (no kind mux before the
        # requant's multiplier: that path set the unit's Fmax).
        sel = {KIND_Q: ("m_q", "n_q"), KIND_K: ("m_k", "n_k"), KIND_V: ("m_v", "n_v")}
        p_m, p_n = Signal.like(rq.m), Signal.like(rq.n)

        def start_projection(kind, row):
            mn, nn = sel[kind]
            m.d.sync += [p_kind.eq(kind), p_row.eq(row), p_jt.eq(0), p_ic.eq(0),
                         p_issuing.eq(1), p_out.eq(0), p_m.eq(cfg[mn]), p_n.eq(cfg[nn])]

        # Requant of the projection results into a row register (JT chunks), then the RoPE
        # rotator (q and k when `rope`, SPEC 4.1-4.2; v passes), then the K/V buffers, q and `proj`.
        m.d.comb += [rq.m.eq(p_m), rq.n.eq(p_n)]
        row_reg = Signal(data.ArrayLayout(i8, dh))
        row_chunks = data.View(data.ArrayLayout(data.ArrayLayout(i8, R), JT), row_reg.as_value())
        m.d.comb += rq.o.ready.eq(p_out < JT)
        with m.If(rq.o.valid & rq.o.ready):
            m.d.sync += p_out.eq(p_out + 1)
            with m.Switch(p_out):
                for j in range(JT):
                    with m.Case(j):
                        m.d.sync += row_chunks[j].eq(rq.o.payload)
        m.submodules.rope_table = table = RopeTable(head_dim=dh, max_seq_len=L)
        m.submodules.rope = rot = RopeRotator(head_dim=dh)
        m.d.comb += [table.w_en.eq(self.rope_w_en), table.w_addr.eq(self.rope_w_addr),
                     table.w_data.eq(self.rope_w_data), table.r_addr.eq(p_row),
                     rot.rope_en.eq(cfg.rope & (p_kind != KIND_V)),
                     rot.i.valid.eq(p_out == JT), rot.i.payload.a.eq(row_reg),
                     rot.i.payload.c.eq(table.r_data.c), rot.i.payload.s.eq(table.r_data.s)]
        with m.If(rot.i.valid & rot.i.ready):
            m.d.sync += p_out.eq(JT + 1)
        q_row = Signal(data.ArrayLayout(i8, dh))
        k_wr = k_buf.write_port()
        v_wr = v_buf.write_port()
        proj_fire = self.proj.valid & self.proj.ready
        m.d.comb += [
            self.proj.valid.eq(rot.o.valid), rot.o.ready.eq(self.proj.ready),
            self.proj.payload.kind.eq(p_kind), self.proj.payload.row.eq(p_row),
            self.proj.payload.data.eq(rot.o.payload),
            k_wr.addr.eq(p_row), v_wr.addr.eq(p_row), k_wr.data.eq(rot.o.payload),
            v_wr.data.eq(rot.o.payload), p_done.eq(proj_fire),
            k_wr.en.eq(proj_fire & (p_kind == KIND_K)), v_wr.en.eq(proj_fire & (p_kind == KIND_V)),
        ]
        with m.If(proj_fire & (p_kind == KIND_Q)):
            m.d.sync += q_row.eq(rot.o.payload)

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
        kept_fire = self.kept.valid & self.kept.ready
        m.d.comb += [
            k_rd.addr.eq(self.kept.payload.key), k_rd.en.eq(adv),
            self.kept.ready.eq(score_issue & adv & (s_qc == QC - 1)),
            kl_wr.addr.eq(banked(bank, n_kept)), kl_wr.data.eq(self.kept.payload.key), kl_wr.en.eq(kept_fire),
        ]
        with m.If(score_issue & adv & self.kept.valid):
            m.d.sync += [mac_v.eq(1), mac_first.eq(s_qc == 0), mac_last.eq(s_qc == QC - 1),
                         s_qc_beat.eq(s_qc), s_qc.eq(Mux(s_qc == QC - 1, 0, s_qc + 1))]
        with m.If(kept_fire):
            m.d.sync += n_kept.eq(n_kept + 1)
            with m.If(self.kept.payload.last):
                m.d.sync += [row_len.eq(n_kept + 1), row_known.eq(1)]

        # MAC operands: projection (x chunk on every row, row r = weight column) or score.
        q_chunks = data.ArrayLayout(tile, QC)
        q_view = data.View(q_chunks, q_row.as_value())
        k_view = data.View(q_chunks, k_rd.data.as_value())
        with m.If(mode_score):
            with m.Switch(s_qc_beat):
                for c in range(QC):
                    with m.Case(c):
                        m.d.comb += [mac.i.payload.a.eq(q_view[c]), mac.i.payload.b.eq(k_view[c])]
        with m.Else():
            m.d.comb += [mac.i.payload.a[r].eq(x_rd.data) for r in range(R)]
            with m.Switch(p_kind):
                for kind, name in ((KIND_Q, "wq"), (KIND_K, "wk"), (KIND_V, "wv")):
                    with m.Case(kind):
                        m.d.comb += mac.i.payload.b.eq(w_rd[name].data)

        # MAC results: to the requant (projection) or summed over the rows into the softmax.
        score = Signal(signed(hw.score_width))
        m.d.comb += score.eq(sum(mac.o.payload[r] for r in range(R)))
        with m.If(mode_score):
            m.d.comb += [sm.i.valid.eq(mac.o.valid), mac.o.ready.eq(sm.i.ready),
                         sm.i.payload.score.eq(score),
                         sm.i.payload.last.eq(row_known & (n_scored == row_len - 1))]
        with m.Else():
            m.d.comb += [rq.i.valid.eq(mac.o.valid), mac.o.ready.eq(rq.i.ready),
                         rq.i.payload.eq(mac.o.payload)]
        with m.If(sm.i.valid & sm.i.ready):
            m.d.sync += n_scored.eq(n_scored + 1)

        # ---- Probabilities: out on `probs` and into the row's buffer for A.V.
        p_wr = prob_buf.write_port()
        n_probs = Signal(range(L + 1))
        probs_done = Signal()
        prob_fire = self.probs.valid & self.probs.ready
        wiring.connect(m, sm.o, wiring.flipped(self.probs))
        m.d.comb += [p_wr.addr.eq(banked(bank, n_probs)), p_wr.data.eq(sm.o.payload.prob), p_wr.en.eq(prob_fire),
                     probs_done.eq(prob_fire & sm.o.payload.last)]
        with m.If(prob_fire):
            m.d.sync += n_probs.eq(n_probs + 1)

        # ---- A.V: the feeder runs a finished row's AC jobs on its own (`rtl/av_feeder.py`),
        # handed its bank, length and index while the next row is projected and scored.
        m.submodules.av_feeder = feed = AVFeeder(hw)
        kl_rd = key_list.read_port(domain="comb")
        pb_rd = prob_buf.read_port(domain="comb")
        v_rd = v_buf.read_port()
        m.d.comb += [kl_rd.addr.eq(feed.kl_addr), feed.kl_data.eq(kl_rd.data), pb_rd.addr.eq(feed.pb_addr),
                     feed.pb_data.eq(pb_rd.data), v_rd.addr.eq(feed.v_addr), v_rd.en.eq(feed.v_en),
                     feed.v_data.eq(v_rd.data)]
        wiring.connect(m, feed.av, av.i)
        wiring.connect(m, av.o, feed.av_o)
        wiring.connect(m, feed.o, wiring.flipped(self.o))
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
                m.d.sync += [x_addr.eq(0), wk_addr.eq(0), wv_addr.eq(0), head.eq(0)]
                m.next = "LOAD"
            with m.State("LOAD"):
                # busy (and the cycle count) from the first beat in, not while waiting for it
                m.d.comb += [load_en.eq(1),
                             self.busy.eq((x_addr != 0) | (wk_addr != 0) | (wv_addr != 0))]
                with m.If(x_full & wk_full & wv_full):
                    m.next = "KV_WAIT"
            with m.State("KV_WAIT"):
                m.d.comb += self.busy.eq(1)
                with m.If(kv.o.valid):
                    with m.If(kv.o.payload.compute):
                        start_projection(KIND_K, kv.o.payload.key)
                        m.next = "KV_K"
                    with m.Else():
                        m.d.comb += kv.o.ready.eq(1)
                        with m.If(kv.o.payload.last):
                            m.d.sync += wq_addr.eq(0)
                            m.next = "Q_LOAD"
            with m.State("KV_K"):
                m.d.comb += self.busy.eq(1)
                with m.If(p_done):
                    start_projection(KIND_V, p_row)
                    m.next = "KV_V"
            with m.State("KV_V"):
                m.d.comb += self.busy.eq(1)
                with m.If(p_done):
                    m.d.comb += kv.o.ready.eq(1)
                    m.d.sync += perf.kv_rows.eq(perf.kv_rows + 1)
                    with m.If(kv.o.payload.last):
                        m.d.sync += wq_addr.eq(0)
                        m.next = "Q_LOAD"
                    with m.Else():
                        m.next = "KV_WAIT"
            with m.State("Q_LOAD"):
                m.d.comb += [wq_en.eq(1), self.busy.eq(1)]
                with m.If(wq_full):
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
                        m.d.sync += [head.eq(head + 1), wq_addr.eq(0)]
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

