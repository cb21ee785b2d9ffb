"""The SPEC 8 predictors that read the execution unit's exact rows, in the predictor slot.

`SangerPredictor` (`sanger`) wraps `rtl.predictors.sanger.Sanger`: it takes the slot's exact `k`
rows (every token, on a `first_head` job) and `q` rows, and with `trace` reports what SPEC 6 / 8
call its hats: q4 = q >> 4 of every query row (`is_k` = 0) and, on a `first_head` job, k4 = k >> 4
of every token (`is_k` = 1), each as its row is taken (a one-row register: a row is taken only
when the previous hat row has gone out; the rows may interleave with `kept`, the result writer
keeps one address per kind). `TopKPredictor` (`topk`) wraps `rtl.predictors.topk.TopK` on the
slot's exact `scores` over C_1, of which it takes the job's seq_len rows only (the engine is
back in collect before its last kept beat is out); it sends no hats.

Both add what the slot asks of every predictor: `busy` from the cycle after `start` to the job's
last beat, and with `last_head` the KV head's key_needed (`KeyUnion`: the union of the kept keys
of its query heads, ascending, one key index per cycle from 0 to the highest kept). `config` holds
the predictor's own SPEC 8 parameters (sanger: `sg_mult`, `sg_shift`, `sg_thresh`, `sm_frac_bits`;
topk: `topk_k`), stable while `busy`. `perf.kept_round[0]` counts the kept keys sent (PAIRS_ROUND1).
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.execution.kv_control import kv_request_layout
from rtl.predictors.dense import dense_perf_layout
from rtl.predictors.sanger import Sanger
from rtl.predictors.slot import PredictorSlot
from rtl.predictors.topk import TopK
from rtl.soc.param_regs import param_layout

__all__ = ["KeyUnion", "SangerPredictor", "TopKPredictor"]


class KeyUnion(wiring.Component):
    """The union of the keys marked on `add` (`key`), sent on `o` after `flush`.

    A flag register per key and the highest key marked; `flush` (one cycle) starts the scan of
    keys 0..highest (one per cycle, a marked key waits for `o.ready`; `last` on the highest),
    after which the union is empty; `scanning` is high until then. Nothing marked: no scan.
    """

    def __init__(self, *, max_seq_len):
        self.max_seq_len = max_seq_len
        iw = max(1, (max_seq_len - 1).bit_length())
        super().__init__({"add": In(1), "key": In(unsigned(iw)), "flush": In(1), "scanning": Out(1),
                          "o": Out(stream.Signature(kv_request_layout(iw)))})

    def elaborate(self, platform):
        m = Module()
        marks = Signal(self.max_seq_len)
        top = Signal.like(self.key)
        any_mark = Signal()
        scan = Signal.like(self.key)
        with m.If(self.add):
            m.d.sync += [marks.bit_select(self.key, 1).eq(1), any_mark.eq(1)]
            with m.If(~any_mark | (self.key > top)):
                m.d.sync += top.eq(self.key)
        with m.If(self.flush & any_mark):
            m.d.sync += [self.scanning.eq(1), scan.eq(0)]
        marked = marks.bit_select(scan, 1)
        m.d.comb += [self.o.valid.eq(self.scanning & marked), self.o.payload.key.eq(scan),
                     self.o.payload.last.eq(scan == top)]
        with m.If(self.scanning & (~marked | self.o.ready)):
            m.d.sync += scan.eq(scan + 1)
            with m.If(scan == top):
                m.d.sync += [marks.eq(0), any_mark.eq(0), self.scanning.eq(0)]
        return m


def _slot_job(m, slot, block, union, hw):
    """The slot's job control around `block` (a `row_job` predictor with `kept`): start, busy
    until its kept lists and, with `last_head`, the union's scan are out; kept counted."""
    job = slot.job
    m.submodules.union = union
    wiring.connect(m, block.kept, wiring.flipped(slot.kept))
    wiring.connect(m, union.o, wiring.flipped(slot.needed))
    kept_fire = slot.kept.valid & slot.kept.ready
    m.d.comb += [block.start.eq(slot.start), block.seq_len.eq(job.seq_len),
                 union.add.eq(kept_fire), union.key.eq(slot.kept.payload.key)]
    flushing = Signal()                  # the job's kept lists are out, its needed scan is next
    with m.If(slot.start):
        m.d.sync += flushing.eq(0)
    with m.If(block.busy):
        m.d.sync += flushing.eq(job.last_head)
    m.d.comb += union.flush.eq(flushing & ~block.busy)
    with m.If(union.flush):
        m.d.sync += flushing.eq(0)
    m.d.comb += slot.busy.eq(block.busy | flushing | union.scanning)
    return kept_fire


def _perf(m, perf, kept_fire):
    count = perf.kept_round[0]
    with m.If(kept_fire):
        m.d.sync += count.eq(count + 1)
    m.d.comb += [r.eq(0) for r in list(perf.kept_round)[1:]]


class _ExactPredictor(wiring.Component):
    """The members of both: the slot, `perf`, `config` (the rows of `lapa.fields` that `consumer` reads)."""

    consumer = ""

    def __init__(self, cfg):
        hw = getattr(cfg, "hw", cfg)
        self.hw = hw
        super().__init__({"slot": Out(PredictorSlot(hw)), "perf": Out(dense_perf_layout(hw)),
                          "config": In(data.StructLayout(param_layout(self.consumer, hw.max_rounds)))})


class SangerPredictor(_ExactPredictor):
    """Sanger (SPEC 8) in the predictor slot: exact k / q rows in, kept lists, needed, q4 / k4 hats."""

    consumer = "sanger"

    def elaborate(self, platform):
        m = Module()
        hw, slot, cfg = self.hw, self.slot, self.config
        m.submodules.sanger = sg = Sanger(lanes=hw.peb_lanes, head_dim=hw.head_dim, max_len=hw.max_seq_len)
        kept_fire = _slot_job(m, slot, sg, KeyUnion(max_seq_len=hw.max_seq_len), hw)
        _perf(m, self.perf, kept_fire)
        m.d.comb += [sg.causal.eq(slot.job.causal), sg.first_head.eq(slot.job.first_head),
                     sg.sg_mult.eq(cfg.sg_mult), sg.sg_shift.eq(cfg.sg_shift),
                     sg.sg_thresh.eq(cfg.sg_thresh), sg.sm_frac_bits.eq(cfg.sm_frac_bits)]
        m.d.comb += slot.scores.ready.eq(1)
        # rows in; each taken row's top four bits into the hat register (trace)
        hat = slot.hat
        free = ~hat.valid | hat.ready | ~slot.job.trace
        with m.If(hat.ready):
            m.d.sync += hat.valid.eq(0)
        k_take = Signal()
        for name, is_k, other in (("k", 1, None), ("q", 0, k_take)):
            src, dst = getattr(slot, name), getattr(sg, name)
            ok = free if other is None else free & ~other     # one hat row per cycle: k first
            m.d.comb += [dst.valid.eq(src.valid & ok), dst.payload.eq(src.payload),
                         src.ready.eq(dst.ready & ok)]
            take = src.valid & src.ready
            if other is None:
                m.d.comb += k_take.eq(take)
            with m.If(take & slot.job.trace):
                m.d.sync += [hat.valid.eq(1), hat.payload.is_k.eq(is_k), hat.payload.row.eq(src.payload.row)]
                m.d.sync += [hat.payload.data[j].eq(v >> 4) for j, v in enumerate(src.payload.data)]
        return m


class TopKPredictor(_ExactPredictor):
    """Top-k (SPEC 8) in the predictor slot: exact scores of C_1 in, kept lists, needed; no hats."""

    consumer = "topk"

    def elaborate(self, platform):
        m = Module()
        hw, slot = self.hw, self.slot
        m.submodules.topk = tk = TopK(max_len=hw.max_seq_len, score_width=hw.score_width)
        kept_fire = _slot_job(m, slot, tk, KeyUnion(max_seq_len=hw.max_seq_len), hw)
        _perf(m, self.perf, kept_fire)
        m.d.comb += [tk.topk_k.eq(self.config.topk_k), slot.hat.valid.eq(0),
                     slot.q.ready.eq(1), slot.k.ready.eq(1)]
        # only the job's seq_len rows of scores: the engine is back in collect (busy) before its
        # last kept beat has gone out, and must not take the next head's first row then
        rows_in = Signal(range(hw.max_seq_len + 1))
        open_rows = rows_in < slot.job.seq_len
        src = slot.scores
        m.d.comb += [tk.scores.valid.eq(src.valid & open_rows), tk.scores.payload.eq(src.payload),
                     src.ready.eq(tk.scores.ready & open_rows)]
        with m.If(src.valid & src.ready & src.payload.last):
            m.d.sync += rows_in.eq(rows_in + 1)
        with m.If(slot.start):
            m.d.sync += rows_in.eq(0)
        return m
