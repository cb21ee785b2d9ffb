"""Deliberately broken variants of the blocks, one a property family, so each proof is known
to bite: a mutant's proof must FAIL.

A mutant is a subclass whose `elaborate` builds the real block and then adds statements: in
Amaranth the last assignment to a signal in a domain wins, so a patch models a realistic bug at
the block's ports (a ready that ignores back-pressure, a flag never set, one wrong table entry)
without copying the block's code.
"""

from amaranth.hdl import Const

from rtl.execution.av_feeder import AVFeeder
from rtl.soc.axi_guard import AXIGuard
from rtl.soc.config_check import ConfigCheck
from rtl.speculation.ddf import DDF
from rtl.soc.dma import AXI4Reader, AXI4Writer
from rtl.execution.unit import ExecutionUnit
from rtl.execution.kv_control import KVControl
from rtl.speculation.lapa_predictor import LapaPredictor
from rtl.speculation.loe import LOEncoder
from rtl.soc.regbank import RegisterBank
from rtl.execution.softmax import Softmax
from rtl.speculation.unit import SpeculationUnit
from rtl.top import LapaTop

__all__ = ["mutant"]


def mutant(cls, patch, label):
    """A subclass of `cls` whose elaborate applies `patch(self, m)` after the real one."""

    def elaborate(self, platform):
        m = cls.elaborate(self, platform)
        patch(self, m)
        return m

    return type(f"{cls.__name__}_{label}", (cls,), {"elaborate": elaborate, "mutation": label})


def _loe_one_entry(self, m):
    # 37 = 0b100101: floor e = 5; the mutant says 4 for that one input
    with m.If(self.value == 37):
        m.d.comb += self.code.e.eq(4)


LOEOneEntry = mutant(LOEncoder, _loe_one_entry, "e_of_37_is_4")


def _kv_ignores_last(self, m):
    # ready back to `take & ~clear`: the `ended` gate of issue 9ef207c forgotten
    m.d.comb += self.i.ready.eq((~self.o.valid | self.o.ready) & ~self.clear)


def _kv_forgets_keys(self, m):
    # `compute` stuck at 1: a repeated key carrying `last` is scheduled a second time
    m.d.sync += self.o.payload.compute.eq(1)


KVIgnoresLast = mutant(KVControl, _kv_ignores_last, "takes_after_last")
KVForgetsKeys = mutant(KVControl, _kv_forgets_keys, "compute_stuck_at_1")


def _ddf_phi_above_max(self, m):
    # margin mode: phi = mx - margin + 1 (a `>` where `>=` belongs): margin 0 drops the maximum
    threshold = m._generated["fsm"].ongoing("threshold")
    phi = next(s for s in m._driving.keys() if s.name == "phi")
    e_mx = next(s for s in m._driving.keys() if s.name == "e_mx")
    with m.If(threshold & self.ddf_mode):
        m.d.sync += phi.eq(e_mx - self.margin + 1)


def _ddf_loses_last(self, m):
    # the final survivor goes out without `last`: the row runs into the next one
    m.d.sync += self.o.payload.last.eq(0)


DDFPhiAboveMax = mutant(DDF, _ddf_phi_above_max, "phi_above_max")
DDFLosesLast = mutant(DDF, _ddf_loses_last, "last_lost")


def _config_accepts_frac_9(self, m):
    # `sm_frac_bits > 9` where `> 8` belongs: 9 accepted
    with m.If(self.config.sm_frac_bits == 9):
        m.d.comb += self.error.eq(0)


ConfigAcceptsFrac9 = mutant(ConfigCheck, _config_accepts_frac_9, "sm_frac_bits_9_accepted")


def _axi_no_boundary(self, m):
    # bursts of min(remaining, 256) beats: the 4 KiB cap forgotten
    rem = next(s for s in m._driving.keys() if s.name == "capped")
    m.d.comb += rem.eq(256)


def _axi_early_wlast(self, m):
    # wlast one beat early (`left == 2`): a burst of awlen + 1 beats ends after awlen
    left = next(s for s in m._driving.keys() if s.name == "left")
    m.d.comb += self.axi.wlast.eq(left == 2)


ReaderNoBoundary = mutant(AXI4Reader, _axi_no_boundary, "no_4k_cap")
WriterEarlyWlast = mutant(AXI4Writer, _axi_early_wlast, "wlast_one_beat_early")


def _kv_ignores_stall(self, m):
    # i.ready without the `o` stall term: a new request overwrites a beat still on `o`
    m.d.comb += self.i.ready.eq(~self.clear)


KVIgnoresStall = mutant(KVControl, _kv_ignores_stall, "ready_ignores_o_stall")


def _regbank_b_without_w(self, m):
    # a write taken on AW alone: B answers before the data arrived
    take_w = next(s for s in m._driving.keys() if s.name == "take_w")
    m.d.comb += take_w.eq(self.axil.awvalid & ~self.axil.bvalid)


RegBankBWithoutW = mutant(RegisterBank, _regbank_b_without_w, "b_without_w")


def _softmax_reads_while_stalled(self, m):
    # the exponent read port always enabled: a stalled `o` beat's prob moves to the next entry
    m.d.comb += m._named_submodules["exps"][0].read_ports[0].en.eq(1)


SoftmaxReadsWhileStalled = mutant(Softmax, _softmax_reads_while_stalled, "reads_while_stalled")


def _guard_copies_from_core(self, m):
    # the copy of a held request latched only while connected (the guard before 2 Dec 2026): a
    # drain W beat stalled by the memory turns into the core's last beat, data and strobes
    for name in ("wdata", "wstrb", "wlast"):
        copy = next(s for s in m._driving.keys() if s.name == f"{name}_copy")
        with m.If(self.draining):
            m.d.sync += copy.eq(copy)


def _guard_passes_b_in_drain(self, m):
    # B passed to the core while draining: the reset core sees the drained burst's response
    m.d.comb += self.core.bvalid.eq(self.bus.bvalid)


GuardCopiesFromCore = mutant(AXIGuard, _guard_copies_from_core, "copies_from_core")
GuardPassesBInDrain = mutant(AXIGuard, _guard_passes_b_in_drain, "passes_b_in_drain")


def _top_no_flush(self, m):
    # the core not reset on a bus fault
    flush = next(s for s in m._driving.keys() if s.name == "flush")
    m.d.comb += flush.eq(0)


TopNoFlush = mutant(LapaTop, _top_no_flush, "core_not_reset_on_fault")


def _spec_reads_hat_while_stalled(self, m):
    # the row buffers' read ports always enabled: a stalled `hat` beat becomes the next row
    for name in ("qbuf", "kbuf"):
        m.d.comb += m._named_submodules[name][0].read_ports[0].en.eq(1)


def _in_predictor(patch, label):
    """A SpeculationUnit mutant whose LapaPredictor (the component holding the hat buffers and
    the rounds) runs `patch` after its real elaborate: the same object, ports and connections."""
    pred_mutant = mutant(LapaPredictor, patch, label)

    def swap(self, m):
        m._named_submodules["predictor"][0].__class__ = pred_mutant

    return mutant(SpeculationUnit, swap, label)


SpecReadsHatWhileStalled = _in_predictor(_spec_reads_hat_while_stalled, "hat_read_while_stalled")


def _spec_finishes_early(self, m):
    # rows_done counted on every round's list end, not only the final round's: `finish` ends the
    # job while the last rows' final lists are still in the PEB / DDF (their kept keys then come
    # out after the job)
    ddf = m._named_submodules["ddf"][0]
    rows_done = next(s for s in m._driving.keys() if s.name == "rows_done")
    with m.If(ddf.o.valid & ddf.o.ready & ddf.o.payload.last):
        m.d.sync += rows_done.eq(rows_done + 1)


SpecFinishesEarly = _in_predictor(_spec_finishes_early, "finishes_early")


def _spec_fifo_not_popped(self, m):
    # the candidate FIFO not popped as the feeder takes its head: a later round feeds the same
    # survivor again and again, its list longer than max_seq_len (the DDF's bank overrun)
    m.d.comb += m._named_submodules["cands"][0].r_en.eq(0)


SpecFIFONotPopped = _in_predictor(_spec_fifo_not_popped, "fifo_not_popped")


def _top_awcache_tied(self, m):
    # the write channel's cache attributes not passed to the port
    m.d.comb += self.axi.awcache.eq(0)


TopAWCacheTied = mutant(LapaTop, _top_awcache_tied, "awcache_tied_off")


def _in_feeder(patch, label):
    """An ExecutionUnit mutant whose AVFeeder (the A.V stage's sequencer, which labels `o`) runs
    `patch` after its real elaborate: the same object, ports and connections."""
    feeder_mutant = mutant(AVFeeder, patch, label)

    def swap(self, m):
        m._named_submodules["av_feeder"][0].__class__ = feeder_mutant

    return mutant(ExecutionUnit, swap, label)


def _exec_chunk_moves_while_stalled(self, m):
    # the o chunk counter advanced on valid instead of the handshake: a stalled beat's chunk moves
    chunk = next(s for s in m._driving.keys() if s.name == "chunk")
    with m.If(self.o.valid & ~self.o.ready):
        m.d.sync += chunk.eq(chunk + 1)


ExecChunkMovesWhileStalled = _in_feeder(_exec_chunk_moves_while_stalled, "o_chunk_moves_while_stalled")
