"""LAPA's predictor (SPEC 3.3-3.6) in the predictor slot: LOE, PEB / MRSA rounds, DDF, needed scan.

It owns the q_hat / k_hat row buffers, which the projector (`rtl.speculation.projector`) fills through `rows`
(every beat stored as it comes: `rows.ready` is 1). A job (`slot.start`; `slot.job` as in
`rtl.predictors.slot`, `first_head` = the projector also sends k_hat rows) predicts row t as soon
as its rows are stored (q_hat[t], and on a `first_head` job k_hat[0..t] when `causal`, every
k_hat row when not), so the PEB works beside the projector's PEA; with `trace` it first waits
for every row and sends them:
- with `trace`: the `hat` stream gives the q_hat rows t = 0..seq_len-1 then, on a `first_head`
  job, the k_hat rows, as stored (after RoPE): what `golden.speculation.predict_hat` gives;
- prediction, row by row: q_hat[t] goes through dh floor LOEs (qlo); round 1 feeds the PEB with
  C_1 (s <= t when `causal`, else s < seq_len) from a counter; the DDF thresholds each round;
  survivors of round r < R go through a FIFO (with their A_r, which the PEB reuses in the
  incremental form) to round r+1; survivors of round R go out on `kept`. The feeder starts round
  r+1 (and the next row) as soon as candidates are there: PEB and DDF work concurrently;
- with `last_head`: `needed`, the union of the kept keys since the previous `last_head` job, as
  ascending key indices (`last` on the final one); the union is then cleared.
It uses none of the slot's exact q / k rows or scores (their `ready` is 1). `config` holds LAPA's
own parameters (round count, DDF mode, per-round bits / eta / margin, eta_frac_bits).

`perf` (PERF_WIDTH bits each, since reset): `predict_cycles` (busy after the trace, from the first
row's prediction on, waits for rows included),
PEB beats, candidates scored (`pairs`), |C_1| summed over rows (`c1`), the candidate FIFO's
high-water mark (`fifo_peak`), `kept_round[r]`: the DDF survivors of round r.
Measured (Verilator, dh = 64, 16 + 16 lanes, D = 32; causal, round_bits (4, 4), eta 1/2, random
int8 data): L = 256: 783.5 prediction cycles per row against the ideal sum_r |C_r| * dh / lanes
= 765.9 (+2.3 %); L = 1024: 3082.3 against 3064.9 (+0.6 %).
"""

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig

from rtl.speculation.ddf import DDF, candidate_layout
from rtl.speculation.loe import LOCode, LOEncoder
from rtl.speculation.peb import PEB
from rtl.predictors.slot import PREDICTOR_INPUTS, PredictorSlot, hat_layout
from rtl.speculation.projector import PERF_WIDTH

__all__ = ["PREDICT_FIELDS", "lapa_config_layout", "predict_perf_layout", "LapaPredictor"]

PREDICT_FIELDS = ("predict_cycles", "peb_beats", "pairs", "c1", "fifo_peak")
LAPA_PARAMS = ("n_rounds", "ddf_mode", "round_bits", "round_eta", "round_margin", "eta_frac_bits")


def lapa_config_layout(spec_config):
    """LAPA's own parameters, from the speculation unit's config struct `spec_config` (same widths)."""
    return data.StructLayout({n: spec_config[n].shape for n in LAPA_PARAMS})


def predict_perf_layout(hw: HardwareConfig):
    return data.StructLayout({**{n: PERF_WIDTH for n in PREDICT_FIELDS},
                              "kept_round": data.ArrayLayout(unsigned(PERF_WIDTH), hw.max_rounds)})


class LapaPredictor(wiring.Component):
    """LAPA's mask predictor of one head (see module docstring)."""

    def __init__(self, hw: HardwareConfig, config_layout):
        self.hw = hw
        super().__init__({
            "slot": Out(PredictorSlot(hw)),
            "config": In(config_layout),
            "rows": In(stream.Signature(hat_layout(hw))),
            "perf": Out(predict_perf_layout(hw)),
        })

    def elaborate(self, platform):
        m = Module()
        hw, cfg, slot = self.hw, self.config, self.slot
        job, kept = slot.job, slot.kept
        dh, L, R = hw.head_dim, hw.max_seq_len, hw.max_rounds
        BL, CH = hw.peb_lanes, hw.head_dim // hw.peb_lanes
        iw, sw = hw.seq_index_width, hw.peb_acc_width
        i8 = signed(8)
        row = data.ArrayLayout(i8, dh)
        seq_len = job.seq_len
        perf = self.perf
        m.d.comb += [getattr(slot, name).ready.eq(1) for name in PREDICTOR_INPUTS]

        m.submodules.peb = peb = PEB(lanes=BL, head_dim=dh, idx_width=iw, score_width=sw)
        m.submodules.ddf = ddf = DDF(max_len=L, idx_width=iw, score_width=sw)
        m.submodules.qbuf = qbuf = memory.Memory(shape=row, depth=L, init=[])
        m.submodules.kbuf = kbuf = memory.Memory(shape=row, depth=L, init=[])
        entry = candidate_layout(iw, sw)
        m.submodules.cands = cands = fifo.SyncFIFOBuffered(width=entry.size, depth=L)

        busy = slot.busy
        predicting = Signal()  # busy after the trace: the rows' MRSA rounds (and `needed`)
        with m.If(predicting):
            m.d.sync += perf.predict_cycles.eq(perf.predict_cycles + 1)

        # ---- The projector's rows into the q_hat / k_hat buffers
        q_wr = qbuf.write_port()
        k_wr = kbuf.write_port()
        rows = self.rows
        m.d.comb += [rows.ready.eq(1), q_wr.addr.eq(rows.payload.row), k_wr.addr.eq(rows.payload.row),
                     q_wr.data.eq(rows.payload.data), k_wr.data.eq(rows.payload.data),
                     q_wr.en.eq(rows.valid & ~rows.payload.is_k), k_wr.en.eq(rows.valid & rows.payload.is_k)]
        stored = Signal(iw + 1)     # tokens whose last row (q, or k on a first_head job) is stored
        with m.If(rows.valid & (rows.payload.is_k | ~job.first_head)):
            m.d.sync += stored.eq(stored + 1)

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
        n1 = Mux(job.causal, row_t + 1, seq_len)
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
                     kept.valid.eq(ddf.o.valid & final), kept.payload.key.eq(ddf.o.payload.idx),
                     kept.payload.last.eq(ddf.o.payload.last),
                     ddf.o.ready.eq(Mux(final, kept.ready, cands.w_rdy))]
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
        with m.If(kept.valid & kept.ready):
            m.d.sync += key_needed.bit_select(kept.payload.key, 1).eq(1)
            with m.If(kept.payload.key > top_needed):
                m.d.sync += top_needed.eq(kept.payload.key)
        scan = Signal(iw)

        # ---- Trace: q_hat (then k_hat) rows out of the row buffers, through q_rd / k_rd ----
        # (the feeder is idle then; state "trace" overrides their addr / en). tr_* is the row being read,
        # p_* the one on the read ports' data, i.e. `hat`'s beat, held while `hat` stalls.
        hat = slot.hat
        tr_row = Signal(iw)
        tr_is_k = Signal()
        tr_done = Signal()          # every row read
        p_valid = Signal()
        p_row = Signal(iw)
        p_is_k = Signal()
        tr_adv = ~p_valid | hat.ready
        m.d.comb += [hat.valid.eq(p_valid), hat.payload.row.eq(p_row), hat.payload.is_k.eq(p_is_k),
                     hat.payload.data.eq(Mux(p_is_k, k_rd.data.as_value(), q_rd.data.as_value()))]

        # ---- Control ----
        with m.FSM():
            with m.State("idle"):
                with m.If(slot.start):
                    m.d.sync += [busy.eq(1), stored.eq(0), row_t.eq(0), rows_done.eq(0), ddf_round.eq(0)]
                    m.next = "rows"
            with m.State("rows"):
                with m.If(~job.trace):
                    m.d.sync += predicting.eq(1)
                    m.next = "load_q"
                with m.Elif(stored == seq_len):
                    m.d.sync += [tr_row.eq(0), tr_is_k.eq(0), tr_done.eq(0), p_valid.eq(0)]
                    m.next = "trace"
            with m.State("trace"):
                m.d.comb += [q_rd.addr.eq(tr_row), k_rd.addr.eq(tr_row), q_rd.en.eq(tr_adv), k_rd.en.eq(tr_adv)]
                with m.If(tr_adv):
                    m.d.sync += [p_valid.eq(~tr_done), p_row.eq(tr_row), p_is_k.eq(tr_is_k)]
                    with m.If(~tr_done):
                        m.d.sync += tr_row.eq(tr_row + 1)
                        with m.If(tr_row == seq_len - 1):
                            m.d.sync += tr_row.eq(0)
                            with m.If(~tr_is_k & job.first_head):
                                m.d.sync += tr_is_k.eq(1)
                            with m.Else():
                                m.d.sync += tr_done.eq(1)
                    with m.Else():  # the last beat goes out now (or none was left)
                        m.d.sync += predicting.eq(1)
                        m.next = "load_q"
            with m.State("load_q"):
                # q_row feeds the PEB's q chunks: change it only once the last row's beats are in
                # and only once the row's q_hat (and the k_hat rows it scores) are stored
                m.d.comb += q_rd.addr.eq(row_t)
                row_in = Mux(job.first_head & ~job.causal, stored == seq_len, stored > row_t)
                with m.If(~cur_valid & ~s1_valid & row_in):
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
                    with m.If(job.last_head):
                        m.next = "needed"
                    with m.Else():
                        m.d.sync += [busy.eq(0), predicting.eq(0)]
                        m.next = "idle"
            with m.State("needed"):
                needed = slot.needed
                here = key_needed.bit_select(scan, 1)
                m.d.comb += [needed.valid.eq(here), needed.payload.key.eq(scan),
                             needed.payload.last.eq(scan == top_needed)]
                with m.If(~here | needed.ready):
                    m.d.sync += scan.eq(scan + 1)
                    with m.If(scan == top_needed):
                        m.d.sync += [key_needed.eq(0), top_needed.eq(0), busy.eq(0), predicting.eq(0)]
                        m.next = "idle"
        return m
