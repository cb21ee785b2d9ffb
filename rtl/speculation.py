"""Speculation unit of SPEC section 3: PEA, RoPE, runtime LOE, PEB/MRSA rounds and DDF, per head.

One job (`start`, then `busy` until done) predicts the mask of one query head:

1. Projection (SPEC 3.2-3.3), token by token: the `x` stream brings the token's D int8 values
   (one per beat, tokens in order) into the x row buffer; the PEA then runs dh/pea_lanes column
   groups of `q_hat` (and, when `config.project_k` = 1, as many of `k_hat`), D beats each,
   reading the LO-coded weights from the weight buffer; each finished row passes the shared
   RoPE rotator (`rtl.rope`, rotated when `config.rope` = 1, table row t = position pos0 + t)
   into the q_hat / k_hat row buffers. `project_k` = 0 keeps the previous job's k_hat (the
   other query heads of the same KV head, grouped-query attention).
   Trace (only when `config.trace` = 1): once every row is stored, and before the prediction,
   the `hat` stream gives the q_hat rows t = 0..seq_len-1 then, when `project_k` = 1, the k_hat
   rows, as stored (after RoPE): what `golden.speculation.predict_hat` gives.
2. Prediction (SPEC 3.3-3.6), row by row: q_hat[t] goes through dh floor LOEs (qlo); round 1
   feeds the PEB with C_1 (s <= t when `config.causal`, else s < seq_len) from a counter; the
   DDF thresholds each round; survivors of round r < R go through a FIFO (with their A_r,
   which the PEB reuses in the incremental form) to round r+1; survivors of round R are the mask.
   The feeder starts round r+1 (and the next row) as soon as candidates are there: PEB and DDF
   work concurrently, linked only by their streams.

Loading (before `start`, host side): `w_*` writes the weight buffer, entry `g*D + i` holding
the LO codes (`rtl.loe.LOCode`) of `w[i, (g mod G)*lanes + l]` for l < pea_lanes, with
G = dh / pea_lanes groups of wq (g < G) then of wk (g >= G); `rope_w_*` writes the RoPE table
(`golden.rope.rope_table(max_seq_len, dh, rope_base, pos0)`, as for the execution unit).

Output streams (layout `rtl.kv_control.kv_request_layout`: `{key, last}`, what the execution
unit takes as `kept` and `needed`):
- `kept`: for every query row t = 0..seq_len-1 in order, the kept key indices M[t] (SPEC 3.6)
  in ascending order, `last` on the row's final key (every row keeps at least one key).
- `needed`: at the end of a job with `config.last_head` = 1, key_needed of the KV head, the
  union over every job since the previous `last_head` job (its query heads), as ascending key
  indices, `last` on the final one; the union is then cleared.
- `hat` (layout `hat_layout`: `{is_k, row, data}`, data the dh int8 values of the row): with
  `config.trace` = 1, every q_hat row (`is_k` = 0, `row` = t, in order), then with `project_k`
  = 1 every k_hat row (`is_k` = 1), between the projection and the prediction; the job waits
  for `hat` (valid/ready). With `trace` = 0, `hat.valid` stays 0 and no cycle is added.

FSM: idle -> (load_x -> pass) per token -> drain -> [trace] -> (load_q -> capture_q -> feed)
per row -> finish -> [needed] -> idle.

`perf` (layout `SpeculationUnit.perf_layout(hw)`, PERF_WIDTH-bit counters since reset; PERF_FIELDS,
then `kept_round`): busy cycles (`cycles`), the cycles of the prediction (`predict_cycles`: rows
and `needed`, after the trace), PEA and PEB beats, candidates scored (`pairs`, sum over rounds
of |C_r|) and |C_1| summed over rows (`c1`; skipped pairs = R * c1 - pairs), the candidate
FIFO's high-water mark (`fifo_peak`), and `kept_round[r]` (r < max_rounds, 0-based): the DDF
survivors of round r, |C_{r+1}| summed over rows (golden `mrsa_rounds(...).cands[r + 1].sum()`;
the last round's are the kept keys).

Runtime configuration `config` (SPEC 5 names, layout `spec_config_layout`) must stay stable
while `busy`. Cost per query row: sum_r |C_r| * dh / peb_lanes PEB beats plus a few cycles per
round; a token's projection costs D (x row load) + (1 + project_k) * dh / pea_lanes * D cycles;
the trace, when on, (1 + project_k) * seq_len + 1 cycles without back-pressure.
Measured (Verilator, dh = 64, 16 + 16 lanes, D = 32 since the projection cost is exactly
9 * D per token and separates; causal, round_bits (4, 4), eta 1/2, random int8 data):
L = 256: 783.5 prediction cycles per row against the ideal sum_r |C_r| * dh / lanes = 765.9
(+2.3 %); L = 1024: 3082.3 against 3064.9 (+0.6 %).
"""

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig
from lapa.fields import ROUND_COUNT_WIDTH

from .ddf import DDF, candidate_layout
from .kv_control import kv_request_layout
from .loe import LOCode, LOEncoder
from .param_regs import param_layout
from .pea import PEA
from .predictor_slot import hat_layout
from .peb import PEB
from .registry import block
from .rope import RopeRotator, RopeTable, rope_table_layout

__all__ = ["PERF_WIDTH", "PERF_FIELDS", "spec_config_layout", "hat_layout", "spec_shape", "SpeculationUnit"]

PERF_WIDTH = 48
PERF_FIELDS = ("cycles", "predict_cycles", "pea_beats", "peb_beats", "pairs", "c1", "fifo_peak")


def spec_config_layout(hw: HardwareConfig):
    """The runtime configuration the unit reads, one struct: the job's fields, then the rows of
    `lapa.fields` it consumes (SPEC 5 names, their widths; per-round rows max_rounds entries)."""
    return data.StructLayout({
        "seq_len": unsigned(hw.max_seq_len.bit_length()),
        "project_k": 1, "last_head": 1, "n_rounds": unsigned(ROUND_COUNT_WIDTH), "trace": 1,
        **param_layout("speculation", hw.max_rounds),
    })


def spec_shape(hw: HardwareConfig):
    """(G, CH): PEA column groups per row, PEB chunks per key (`HardwareConfig` guarantees the
    lane counts divide dh)."""
    return hw.head_dim // hw.pea_lanes, hw.head_dim // hw.peb_lanes


class SpeculationUnit(wiring.Component):
    """The speculation unit of one head; shape from `cfg.hw`, arithmetic at run time."""

    def __init__(self, cfg):
        hw = cfg.hw
        self.hw = hw
        self.groups, self.chunks = spec_shape(hw)
        iw = hw.seq_index_width
        super().__init__({
            "config": In(spec_config_layout(hw)),
            "start": In(1),
            "busy": Out(1),
            "x": In(stream.Signature(signed(8))),
            "w_en": In(1),
            "w_addr": In(range(2 * self.groups * hw.d_model)),
            "w_data": In(data.ArrayLayout(LOCode, hw.pea_lanes)),
            "rope_w_en": In(1),
            "rope_w_addr": In(unsigned(iw)),
            "rope_w_data": In(rope_table_layout(hw.head_dim)),
            "kept": Out(stream.Signature(kv_request_layout(iw))),
            "needed": Out(stream.Signature(kv_request_layout(iw))),
            "hat": Out(stream.Signature(hat_layout(hw))),
            "perf": Out(self.perf_layout(hw)),
        })

    @staticmethod
    def perf_layout(hw: HardwareConfig):
        """The performance counters: PERF_FIELDS, then `kept_round` (one per round, max_rounds),
        PERF_WIDTH bits each."""
        return data.StructLayout({**{n: PERF_WIDTH for n in PERF_FIELDS},
                                  "kept_round": data.ArrayLayout(unsigned(PERF_WIDTH), hw.max_rounds)})

    def elaborate(self, platform):
        m = Module()
        hw, cfg = self.hw, self.config
        D, dh, L, R = hw.d_model, hw.head_dim, hw.max_seq_len, hw.max_rounds
        G, CH, PL, BL = self.groups, self.chunks, hw.pea_lanes, hw.peb_lanes
        iw, sw = hw.seq_index_width, hw.peb_acc_width
        i8 = signed(8)
        row = data.ArrayLayout(i8, dh)

        m.submodules.pea = pea = PEA(lanes=PL, d_model=D, acc_width=hw.pea_acc_width)
        m.submodules.rope = rot = RopeRotator(head_dim=dh)
        m.submodules.rope_table = table = RopeTable(head_dim=dh, max_seq_len=L)
        m.submodules.peb = peb = PEB(lanes=BL, head_dim=dh, idx_width=iw, score_width=sw)
        m.submodules.ddf = ddf = DDF(max_len=L, idx_width=iw, score_width=sw)
        m.submodules.xbuf = xbuf = memory.Memory(shape=i8, depth=D, init=[])
        m.submodules.wbuf = wbuf = memory.Memory(shape=data.ArrayLayout(LOCode, PL), depth=2 * G * D, init=[])
        m.submodules.qbuf = qbuf = memory.Memory(shape=row, depth=L, init=[])
        m.submodules.kbuf = kbuf = memory.Memory(shape=row, depth=L, init=[])
        entry = candidate_layout(iw, sw)
        m.submodules.cands = cands = fifo.SyncFIFOBuffered(width=entry.size, depth=L)

        m.d.comb += [table.w_en.eq(self.rope_w_en), table.w_addr.eq(self.rope_w_addr),
                     table.w_data.eq(self.rope_w_data), rot.rope_en.eq(cfg.rope)]
        w_wr = wbuf.write_port()
        m.d.comb += [w_wr.en.eq(self.w_en), w_wr.addr.eq(self.w_addr), w_wr.data.eq(self.w_data)]

        seq_len = cfg.seq_len
        busy = Signal()
        m.d.comb += self.busy.eq(busy)
        perf = self.perf
        predicting = Signal()  # busy after the projection: the rows' MRSA rounds (and `needed`)
        with m.If(busy):
            m.d.sync += perf.cycles.eq(perf.cycles + 1)
        with m.If(predicting):
            m.d.sync += perf.predict_cycles.eq(perf.predict_cycles + 1)

        # ---- Projection: x row load, PEA passes, row assembly, RoPE, q_hat/k_hat buffers ----
        x_wr = xbuf.write_port()
        x_rd = xbuf.read_port()
        w_rd = wbuf.read_port()
        tok = Signal(iw + 1)        # token being loaded / projected
        xi = Signal(range(D))       # x element / PEA beat within the token
        grp = Signal(range(2 * G))  # PEA column group being issued
        n_groups = Mux(cfg.project_k, 2 * G, G)
        issue = Signal()            # a PEA beat read from the buffers this cycle
        m.d.comb += [x_rd.addr.eq(xi), w_rd.addr.eq(grp * D + xi)]
        # beat read this cycle reaches the PEA next cycle (the read ports' latency)
        m.d.sync += [pea.i.valid.eq(issue), pea.i.payload.last.eq(xi == D - 1)]
        m.d.comb += [pea.i.payload.x.eq(x_rd.data), pea.i.payload.w.eq(w_rd.data), pea.o.ready.eq(1)]
        out_grp = Signal(range(2 * G))  # group of the PEA's next output beat
        m.d.comb += pea.sh.eq(Mux(out_grp < G, cfg.sh_qhat, cfg.sh_khat))
        hat = Signal(row)
        rot_valid = Signal()
        rot_is_k = Signal()
        rot_tok = Signal(iw)
        with m.If(pea.o.valid):
            col = Mux(out_grp >= G, out_grp - G, out_grp)
            for g in range(G):
                with m.If(col == g):
                    m.d.sync += [hat[g * PL + k].eq(pea.o.payload[k]) for k in range(PL)]
            last_q = out_grp == G - 1
            last_k = out_grp == 2 * G - 1
            m.d.sync += [out_grp.eq(Mux(out_grp == n_groups - 1, 0, out_grp + 1)),
                         rot_valid.eq(last_q | last_k), rot_is_k.eq(last_k)]
        with m.Else():
            m.d.sync += rot_valid.eq(0)
        m.d.comb += [rot.i.valid.eq(rot_valid), rot.i.payload.a.eq(hat),
                     rot.i.payload.c.eq(table.r_data.c), rot.i.payload.s.eq(table.r_data.s),
                     table.r_addr.eq(rot_tok), rot.o.ready.eq(1)]
        q_wr = qbuf.write_port()
        k_wr = kbuf.write_port()
        out_is_k = Signal()
        hats_done = Signal(iw + 1)  # tokens whose last row (q, or k when project_k) is stored
        m.d.sync += out_is_k.eq(Mux(rot.i.valid & rot.i.ready, rot_is_k, out_is_k))
        m.d.comb += [q_wr.addr.eq(rot_tok), k_wr.addr.eq(rot_tok), q_wr.data.eq(rot.o.payload),
                     k_wr.data.eq(rot.o.payload),
                     q_wr.en.eq(rot.o.valid & ~out_is_k), k_wr.en.eq(rot.o.valid & out_is_k)]
        with m.If(rot.o.valid & (out_is_k | ~cfg.project_k)):
            m.d.sync += [hats_done.eq(hats_done + 1), rot_tok.eq(rot_tok + 1)]
        with m.If(pea.i.valid):
            m.d.sync += perf.pea_beats.eq(perf.pea_beats + 1)

        # ---- Prediction: q_hat row -> qlo, candidate feeder -> PEB -> DDF -> FIFO / kept ----
        q_rd = qbuf.read_port()
        k_rd = kbuf.read_port()
        q_row = Signal(row)
        qlo = Signal(data.ArrayLayout(data.ArrayLayout(LOCode, BL), CH))
        for j in range(dh):
            enc = m.submodules[f"loe{j}"] = LOEncoder(mode="floor", mant_bits=0)
            m.d.comb += [enc.value.eq(q_row[j]), qlo[j // BL][j % BL].eq(enc.code)]
        row_t = Signal(iw + 1)      # query row being fed
        fr = Signal(range(R))       # round being fed
        seq = Signal(iw + 1)        # round-1 candidate counter
        n1 = Mux(cfg.causal, row_t + 1, seq_len)
        cur_valid = Signal()        # the candidate whose chunks are being issued
        cur = Signal(data.StructLayout({"idx": unsigned(iw), "prev": signed(sw), "row_last": 1}))
        chunk = Signal(range(CH))
        # stage 1: the beat whose k_hat row is on k_rd.data (the read port's latency)
        s1_valid = Signal()
        s1 = Signal(data.StructLayout({"chunk": range(CH), "idx": unsigned(iw), "prev": signed(sw),
                                       "key_last": 1, "row_last": 1, "round": range(R)}))
        advance = ~s1_valid | peb.i.ready
        m.d.comb += [k_rd.en.eq(advance), k_rd.addr.eq(cur.idx)]
        with m.If(advance):
            m.d.sync += [s1_valid.eq(cur_valid), s1.chunk.eq(chunk), s1.idx.eq(cur.idx), s1.prev.eq(cur.prev),
                         s1.key_last.eq(chunk == CH - 1), s1.row_last.eq(cur.row_last & (chunk == CH - 1)),
                         s1.round.eq(fr)]
        k_chunks = data.ArrayLayout(data.ArrayLayout(i8, BL), CH)(k_rd.data.as_value())
        cum = [sum(cfg.round_bits[i] for i in range(r + 1)) for r in range(R)]
        m.d.comb += [peb.i.valid.eq(s1_valid), peb.i.payload.k.eq(k_chunks[s1.chunk]),
                     peb.i.payload.q.eq(qlo[s1.chunk]), peb.i.payload.prev.eq(s1.prev),
                     peb.i.payload.idx.eq(s1.idx), peb.i.payload.key_last.eq(s1.key_last),
                     peb.i.payload.row_last.eq(s1.row_last),
                     peb.first.eq(s1.round == 0), peb.bits.eq(cfg.round_bits[s1.round]),
                     peb.cum_bits.eq(Array(cum)[s1.round])]
        with m.If(peb.i.valid & peb.i.ready):
            m.d.sync += perf.peb_beats.eq(perf.peb_beats + 1)

        # The feeder takes its next candidate as the current one's last chunk goes out; a round's
        # final candidate is followed by one idle cycle while the round (or the row) changes.
        out_last = advance & (chunk == CH - 1)
        with m.If(cur_valid & advance):
            m.d.sync += chunk.eq(Mux(chunk == CH - 1, 0, chunk + 1))
        with m.If(cur_valid & out_last):
            m.d.sync += cur_valid.eq(0)
        round_end = cur_valid & out_last & cur.row_last
        feeding = Signal()
        can_load = feeding & (~cur_valid | (out_last & ~cur.row_last))
        fifo_out = entry(cands.r_data)
        with m.If(can_load):
            with m.If(fr == 0):
                with m.If(seq < n1):
                    m.d.sync += [cur_valid.eq(1), cur.idx.eq(seq), cur.prev.eq(0),
                                 cur.row_last.eq(seq == n1 - 1), seq.eq(seq + 1),
                                 perf.pairs.eq(perf.pairs + 1), perf.c1.eq(perf.c1 + 1)]
            with m.Else():
                m.d.comb += cands.r_en.eq(1)
                with m.If(cands.r_rdy):
                    m.d.sync += [cur_valid.eq(1), cur.idx.eq(fifo_out.idx), cur.prev.eq(fifo_out.score),
                                 cur.row_last.eq(fifo_out.last), perf.pairs.eq(perf.pairs + 1)]

        # DDF side: the round being thresholded; survivors go to the FIFO, or to `kept` in round R
        ddf_round = Signal(range(R))
        final = ddf_round == cfg.n_rounds - 1
        m.d.comb += [ddf.i.valid.eq(peb.o.valid), ddf.i.payload.eq(peb.o.payload), peb.o.ready.eq(ddf.i.ready),
                     ddf.ddf_mode.eq(cfg.ddf_mode), ddf.eta.eq(cfg.round_eta[ddf_round]),
                     ddf.margin.eq(cfg.round_margin[ddf_round]), ddf.eta_frac_bits.eq(cfg.eta_frac_bits),
                     cands.w_data.eq(ddf.o.payload), cands.w_en.eq(ddf.o.valid & ~final),
                     self.kept.valid.eq(ddf.o.valid & final), self.kept.payload.key.eq(ddf.o.payload.idx),
                     self.kept.payload.last.eq(ddf.o.payload.last),
                     ddf.o.ready.eq(Mux(final, self.kept.ready, cands.w_rdy))]
        with m.If(cands.level > perf.fifo_peak):
            m.d.sync += perf.fifo_peak.eq(cands.level)  # the candidate FIFO's high-water mark
        with m.If(ddf.o.valid & ddf.o.ready):
            for r in range(R):
                with m.If(ddf_round == r):  # the survivors of round r (to the FIFO, or `kept`)
                    m.d.sync += perf.kept_round[r].eq(perf.kept_round[r] + 1)
        rows_done = Signal(iw + 1)
        with m.If(ddf.o.valid & ddf.o.ready & ddf.o.payload.last):
            m.d.sync += ddf_round.eq(Mux(final, 0, ddf_round + 1))
            with m.If(final):
                m.d.sync += rows_done.eq(rows_done + 1)

        # key_needed: the union of the kept keys since the last `last_head` job
        key_needed = Signal(L)
        top_needed = Signal(iw)     # highest key set in key_needed
        with m.If(self.kept.valid & self.kept.ready):
            m.d.sync += key_needed.bit_select(self.kept.payload.key, 1).eq(1)
            with m.If(self.kept.payload.key > top_needed):
                m.d.sync += top_needed.eq(self.kept.payload.key)
        scan = Signal(iw)

        # ---- Trace: q_hat (then k_hat) rows out of the row buffers, through q_rd / k_rd ----
        # (the feeder is idle then; state "trace" overrides their addr / en). tr_* is the row being read,
        # p_* the one on the read ports' data, i.e. `hat`'s beat, held while `hat` stalls.
        tr_row = Signal(iw)
        tr_is_k = Signal()
        tr_done = Signal()          # every row read
        p_valid = Signal()
        p_row = Signal(iw)
        p_is_k = Signal()
        tr_adv = ~p_valid | self.hat.ready
        m.d.comb += [self.hat.valid.eq(p_valid), self.hat.payload.row.eq(p_row),
                     self.hat.payload.is_k.eq(p_is_k),
                     self.hat.payload.data.eq(Mux(p_is_k, k_rd.data.as_value(), q_rd.data.as_value()))]

        # ---- Control ----
        with m.FSM():
            with m.State("idle"):
                with m.If(self.start):
                    m.d.sync += [busy.eq(1), tok.eq(0), xi.eq(0), grp.eq(0), out_grp.eq(0), rot_tok.eq(0),
                                 hats_done.eq(0), row_t.eq(0), rows_done.eq(0), ddf_round.eq(0)]
                    m.next = "load_x"
            with m.State("load_x"):
                m.d.comb += [self.x.ready.eq(1), x_wr.addr.eq(xi), x_wr.data.eq(self.x.payload),
                             x_wr.en.eq(self.x.valid)]
                with m.If(self.x.valid):
                    m.d.sync += xi.eq(Mux(xi == D - 1, 0, xi + 1))
                    with m.If(xi == D - 1):
                        m.next = "pass"
            with m.State("pass"):
                m.d.comb += issue.eq(1)
                m.d.sync += xi.eq(Mux(xi == D - 1, 0, xi + 1))
                with m.If(xi == D - 1):
                    m.d.sync += grp.eq(Mux(grp == n_groups - 1, 0, grp + 1))
                    with m.If(grp == n_groups - 1):
                        m.d.sync += tok.eq(tok + 1)
                        with m.If(tok + 1 == seq_len):
                            m.next = "drain"
                        with m.Else():
                            m.next = "load_x"
            with m.State("drain"):
                with m.If(hats_done == seq_len):
                    with m.If(cfg.trace):
                        m.d.sync += [tr_row.eq(0), tr_is_k.eq(0), tr_done.eq(0), p_valid.eq(0)]
                        m.next = "trace"
                    with m.Else():
                        m.d.sync += predicting.eq(1)
                        m.next = "load_q"
            with m.State("trace"):
                m.d.comb += [q_rd.addr.eq(tr_row), k_rd.addr.eq(tr_row), q_rd.en.eq(tr_adv), k_rd.en.eq(tr_adv)]
                with m.If(tr_adv):
                    m.d.sync += [p_valid.eq(~tr_done), p_row.eq(tr_row), p_is_k.eq(tr_is_k)]
                    with m.If(~tr_done):
                        m.d.sync += tr_row.eq(tr_row + 1)
                        with m.If(tr_row == seq_len - 1):
                            m.d.sync += tr_row.eq(0)
                            with m.If(~tr_is_k & cfg.project_k):
                                m.d.sync += tr_is_k.eq(1)
                            with m.Else():
                                m.d.sync += tr_done.eq(1)
                    with m.Else():  # the last beat goes out now (or none was left)
                        m.d.sync += predicting.eq(1)
                        m.next = "load_q"
            with m.State("load_q"):
                # q_row feeds the PEB's q chunks: change it only once the last row's beats are in
                m.d.comb += q_rd.addr.eq(row_t)
                with m.If(~cur_valid & ~s1_valid):
                    m.next = "capture_q"
            with m.State("capture_q"):
                m.d.comb += q_rd.addr.eq(row_t)
                m.d.sync += [q_row.eq(q_rd.data), fr.eq(0), seq.eq(0)]
                m.next = "feed"
            with m.State("feed"):
                m.d.comb += feeding.eq(1)
                with m.If(round_end):
                    m.d.sync += fr.eq(fr + 1)
                    with m.If(fr == cfg.n_rounds - 1):
                        m.d.sync += [fr.eq(0), row_t.eq(row_t + 1)]
                        with m.If(row_t + 1 == seq_len):
                            m.next = "finish"
                        with m.Else():
                            m.next = "load_q"
            with m.State("finish"):
                with m.If(rows_done == seq_len):
                    m.d.sync += scan.eq(0)
                    with m.If(cfg.last_head):
                        m.next = "needed"
                    with m.Else():
                        m.d.sync += [busy.eq(0), predicting.eq(0)]
                        m.next = "idle"
            with m.State("needed"):
                here = key_needed.bit_select(scan, 1)
                m.d.comb += [self.needed.valid.eq(here), self.needed.payload.key.eq(scan),
                             self.needed.payload.last.eq(scan == top_needed)]
                with m.If(~here | self.needed.ready):
                    m.d.sync += scan.eq(scan + 1)
                    with m.If(scan == top_needed):
                        m.d.sync += [key_needed.eq(0), top_needed.eq(0), busy.eq(0), predicting.eq(0)]
                        m.next = "idle"
        return m


@block("speculation", unit="speculation")
def _speculation(cfg):
    """Speculation unit: PEA, RoPE, LOE, PEB/MRSA and DDF of one head."""
    return SpeculationUnit(cfg)
