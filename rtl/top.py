"""LAPA top level: predictor slot -> mask in memory -> data fetcher -> execution unit, one controller.

Ports: `axil` (AXI4-Lite slave, the register map of `rtl.soc.regmap`), `axi` (AXI4 master, 64-bit
data, 32-bit byte addresses, the job's buffers of `lapa.memlayout`), `irq` (level:
CTRL.irq_enable & STATUS.done).

A job (CTRL.start) is checked (`rtl.soc.config_check`: a refused job ends at once with STATUS.error
and the ERROR code; a job whose PREDICTOR is not the generated predictor is refused with
PREDICTOR), then the controller runs, for every KV head g (its query heads h in order):
1. RoPE table rows into both units' tables (once per job, when `rope` = 1).
2. Per query head: the predictor in the slot (`rtl.predictors.plug`, `HardwareConfig.predictor`)
   predicts the head's mask, whose kept-key lists are packed to bit rows and written to
   MASK_ADDR; its key_needed list goes straight to the execution unit (only needed K/V rows are
   ever projected). LAPA's speculation unit first takes the head's LO-coded wq (and, for the
   group's first head, wk) into its weight buffer, then the x rows; `dense` reads nothing (C_1,
   every key needed).
3. Once the group's mask rows are in memory (write responses counted), per query head the wq
   tiles and the head's mask rows (read back on demand, unpacked to kept-key lists) go to the
   execution unit, which writes `o` rows to OUT_ADDR.
Steps 1-2 (the speculation side) and step 3 (the execution side) are two sequencers: the
speculation unit predicts group g + 1 while the execution unit computes group g, limited only
by the data between them (the execution unit takes `needed` in its LOAD/KV phases).
With CTRL.trace, q_hat/k_hat, q/k/v rows, key_needed and the kept probabilities are written too.

Components (this module only composes them): the predictor block and its `PredictorSlot`
(`rtl.predictors.plug.plug_predictor`), `rtl.soc.job_control.JobControl` (start / done / ERROR,
outside the core a bus fault resets), `rtl.soc.job_sequencer.JobSequencer` (the job and the two
sides' state machines, multi-row read commands), `rtl.soc.fetch_scheduler.FetchScheduler` (a row
generator per side, credit checks, a round-robin `rtl.common.stream_arbiter.StreamArbiter`) in
front of one in-order `DataFetcher`, `rtl.common.credit_fifo.CreditFIFO` for the x rows and the
mask rows (a row is requested only when its consumer can take all of it, so no read waits in the
fetcher for a busy consumer; wq is fetched only on the unit's own request), the two units, and
the `ResultWriter` (`rtl.soc.results`: whole rows, round robin) for every result row.
Counters (CYCLES_*, PAIRS_ROUND*, KV_ROWS) count the current job; CYCLES_* are 64-bit and
PAIRS_ROUND* H * L * L wide (NAME and NAME_HI registers).
Bus faults: the AXI master port goes through `rtl.soc.axi_guard.AXIGuard`. An error response or a
watchdog timeout (WATCHDOG cycles waiting on the memory) ends the job at once: the core (both
sequencers, the units, fetcher, result writer, FIFOs) is reset while the guard finishes the
outstanding bursts, and the job is done with the guard's ERROR code, FAULT_ADDR and `irq`;
CYCLES_* keep the cycles up to the fault (PAIRS_ROUND* and KV_ROWS read 0). A start while the
guard drains waits for it; a start while a burst of a timed-out job is still unanswered
(STATUS.bus_pending) is refused with BUS_PENDING.
"""

from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import BUS_BITS
from lapa.fields import MAX_ROUNDS

from rtl.soc.axi import AXI4, AXI4Lite, join_read_write
from rtl.soc.axi_guard import AXIGuard
from rtl.common.credit_fifo import CreditFIFO
from rtl.soc.config_check import ConfigCheck
from rtl.execution.unit import ExecutionUnit
from rtl.soc.fetch_scheduler import FetchScheduler
from rtl.soc.fetcher import DataFetcher
from rtl.soc.job_control import JobControl
from rtl.soc.job_sequencer import (F_EXEC_X, F_MASK, F_ROPE, F_SPEC_W, F_SPEC_X, F_WK, F_WQ, F_WV, N_DEST,
                            JobSequencer, fetch_limits)
from rtl.common.mask_codec import MaskUnpacker
from rtl.soc.param_regs import feed, feed_params
from rtl.soc.regbank import RegisterBank, bank_layout
from rtl.soc.regmap import COUNTER_BITS, pairs_bits, register_map
from rtl.registry import block
from rtl.common.resize import StreamResize, word_layout
from rtl.predictors.slot import PREDICTOR_INPUTS, feeds
from rtl.predictors.plug import PROJECTS, plug_predictor
from rtl.soc.results import RESULT_BUFFERS, ResultWriter

__all__ = ["BUS_BITS", "ADDR_WIDTH", "LapaTop"]

BUS_BYTES = BUS_BITS // 8
ADDR_WIDTH = 32


class LapaTop(wiring.Component):
    """The LAPA accelerator: AXI4-Lite registers, AXI4 memory master, interrupt."""

    def __init__(self, cfg):
        hw = cfg.hw
        self.cfg, self.hw = cfg, hw
        self.regs = register_map(hw)
        self.bank = RegisterBank(self.regs)
        super().__init__({
            "axil": In(AXI4Lite(addr_width=self.bank.addr_width)),
            "axi": Out(AXI4(addr_width=ADDR_WIDTH, data_width=BUS_BITS)),
            "irq": Out(1),
        })

    def elaborate(self, platform):
        top = Module()     # registers, start / done / ERROR, the bus guard, the cycle counters
        m = Module()       # the core: everything a bus fault resets (`flush`)
        hw = self.hw
        D, dh, L, H = hw.d_model, hw.head_dim, hw.max_seq_len, hw.n_heads
        top.submodules.bank = bank = self.bank
        wiring.connect(top, wiring.flipped(self.axil), bank.axil)
        regs, status = bank.config, bank.status
        top.submodules.check = check = ConfigCheck(bank_layout(self.regs, "rw"), max_seq_len=L,
                                                   n_heads=H, max_rounds=hw.max_rounds, predictor=hw.predictor)
        top.d.comb += check.config.eq(regs)
        top.submodules.guard = guard = AXIGuard(addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        wiring.connect(top, wiring.flipped(self.axi), guard.bus)
        top.d.comb += guard.limit.eq(regs.watchdog)
        top.submodules.control = ctl = JobControl()
        top.submodules.core = ResetInserter(ctl.flush)(m)
        spec, slot = plug_predictor(m, self.cfg)     # m.submodules.spec
        projects = hw.predictor in PROJECTS          # it reads x, LO weights, the RoPE table
        m.submodules.exec = ex = ExecutionUnit(self.cfg)
        m.submodules.fetcher = fetcher = DataFetcher(n_dest=N_DEST, addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        m.submodules.results = wr = ResultWriter(hw, addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        join_read_write(m, wiring.flipped(guard.core), fetcher.axi, wr.axi)
        m.submodules.sequencer = seq = JobSequencer(hw, self.regs, addr_width=ADDR_WIDTH,
                                                    mask_rows_width=wr.mask_rows.shape(), projects=projects,
                                                    pre=bool(feeds(hw)))
        # credit FIFOs (x rows, mask rows: a row is requested only when its FIFO holds all of it)
        credits = {F_SPEC_X: 2 * D // BUS_BYTES} if projects else {}
        credits[F_MASK] = 2 * (L // BUS_BITS + 1)
        m.submodules.fetch_sched = sched = FetchScheduler(
            n_sides=2, n_dest=N_DEST, credits=credits, max_rows=fetch_limits(hw)[0], max_words=fetch_limits(hw)[1],
            addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        for cmd, side in zip(seq.fetch, sched.cmd):
            wiring.connect(m, cmd, side)
        wiring.connect(m, sched.req, fetcher.req)
        m.d.comb += [seq.fetch_busy.eq(sched.busy), seq.exec_fetch_addr.eq(sched.addr[1])]

        # ---- Job control (outside the core), the sequencer's inputs
        job = seq.job
        seq_len = job.seq_len[:L.bit_length()]
        trace = job.ctrl.trace
        top.d.comb += [ctl.start.eq(bank.start), ctl.check_error.eq(check.error), ctl.running.eq(seq.running),
                       ctl.finished.eq(seq.finished), ctl.guard_dead.eq(guard.dead),
                       ctl.guard_draining.eq(guard.draining), ctl.fault.eq(guard.fault),
                       ctl.fault_code.eq(guard.code)]
        top.d.comb += [status.status.busy.eq(ctl.busy), status.status.done.eq(ctl.done),
                       status.status.error.eq(ctl.error != 0), status.status.bus_pending.eq(guard.dead),
                       status.error.eq(ctl.error), status.fault_addr.eq(guard.fault_addr),
                       self.irq.eq(ctl.done & regs.ctrl.irq_enable)]
        m.d.comb += [seq.regs.eq(regs), seq.go.eq(ctl.go), seq.spec_busy.eq(slot.busy), seq.exec_busy.eq(ex.busy),
                     seq.exec_wq_ready.eq(ex.wq.ready), slot.start.eq(seq.spec_start),
                     seq.mask_rows.eq(wr.mask_rows), seq.quiet.eq(wr.quiet), seq.exec_quiet.eq(wr.exec_quiet),
                     wr.start.eq(seq.wr_start), wr.next_group.eq(seq.next_group)]

        # ---- Runtime configuration of the units
        # (the SPEC parameters from the table of lapa.fields, checked not to truncate)
        sj = slot.job
        m.d.comb += [sj.seq_len.eq(seq_len), sj.causal.eq(job.causal), sj.first_head.eq(seq.project_k),
                     sj.last_head.eq(seq.last_head), sj.trace.eq(trace)]
        # the exact rows / scores the predictor takes: from the execution unit's pre-phase (sanger, topk)
        for name in PREDICTOR_INPUTS:
            if name in feeds(hw):
                wiring.connect(m, getattr(ex, f"feed_{name}"), getattr(slot, name))
            else:
                m.d.comb += getattr(slot, name).valid.eq(0)
        if "scores" in feeds(hw):
            m.d.comb += ex.causal.eq(job.causal)
        if hw.predictor in ("sanger", "topk"):   # its own SPEC 8 parameters
            m.d.comb += feed_params(spec.config, job, hw.predictor, hw.max_rounds)
        if projects:
            sc = spec.config
            m.d.comb += feed(sc.n_rounds, job.round_bits.n_rounds, "speculation.n_rounds")
            m.d.comb += feed_params(sc, job, "speculation", hw.max_rounds, exclude=("causal",))
        ec = ex.config
        m.d.comb += [ec.seq_len.eq(seq_len), ec.n_q_heads.eq(seq.grp)]
        m.d.comb += feed_params(ec, job, "execution", hw.max_rounds)

        # ---- Reads: the fetcher's words for each destination, resized to its consumer's beats
        def resized(dest, bits):
            """The fetcher's words for `dest` (through its credit FIFO, if it has one), resized to `bits`."""
            words = fetcher.dest[dest]
            conv = StreamResize(in_width=BUS_BITS, out_width=bits)
            m.submodules[f"fetch{dest}_resize"] = conv
            if dest in credits:
                k = list(credits).index(dest)
                q = m.submodules[f"fetch{dest}_fifo"] = CreditFIFO(word_layout(BUS_BITS), credits[dest])
                wiring.connect(m, words, q.i)
                wiring.connect(m, q.o, conv.i)
                m.d.comb += [sched.space[k].eq(q.space), q.claim.eq(sched.claim[k])]
            else:
                wiring.connect(m, words, conv.i)
            return conv.o

        if projects:
            # x bytes to the speculation unit
            sx = resized(F_SPEC_X, 8)
            m.d.comb += [spec.x.valid.eq(sx.valid), spec.x.payload.eq(sx.payload.data), sx.ready.eq(spec.x.ready)]
            # LO codes (a byte each) into the speculation unit's weight buffer
            sw = resized(F_SPEC_W, 8 * hw.pea_lanes)
            m.d.comb += [sw.ready.eq(1), spec.w_en.eq(sw.valid), spec.w_addr.eq(seq.w_addr), seq.w_valid.eq(sw.valid)]
            for lane in range(hw.pea_lanes):
                m.d.comb += spec.w_data[lane].as_value().eq(sw.payload.data[8 * lane:8 * lane + 6])
        else:   # never fetched (the sequencer issues no x / LO weight reads for this predictor)
            m.d.comb += [fetcher.dest[F_SPEC_X].ready.eq(1), fetcher.dest[F_SPEC_W].ready.eq(1)]
        # RoPE table rows into both units (the execution unit only, when the predictor does not project)
        rope = resized(F_ROPE, 16 * dh)
        m.d.comb += [rope.ready.eq(1), seq.rope_valid.eq(rope.valid)]
        for unit in (spec, ex) if projects else (ex,):
            m.d.comb += [unit.rope_w_en.eq(rope.valid), unit.rope_w_addr.eq(seq.rope_addr),
                         unit.rope_w_data.eq(rope.payload.data)]
        # x chunks and weight tiles to the execution unit
        for dest, port, bits in ((F_EXEC_X, ex.x, 8 * hw.mac_cols), (F_WK, ex.wk, 8 * hw.mac_rows * hw.mac_cols),
                                 (F_WV, ex.wv, 8 * hw.mac_rows * hw.mac_cols),
                                 (F_WQ, ex.wq, 8 * hw.mac_rows * hw.mac_cols)):
            o = resized(dest, bits)
            m.d.comb += [port.valid.eq(o.valid), port.payload.eq(o.payload.data), o.ready.eq(port.ready)]
        # mask rows read back as kept-key lists
        m.submodules.unpacker = unpacker = MaskUnpacker(max_seq_len=L, word_width=BUS_BITS)
        wiring.connect(m, resized(F_MASK, BUS_BITS), unpacker.i)
        wiring.connect(m, unpacker.o, ex.kept)

        # ---- Writes: every result row through the result writer
        for name in ("kept", "needed", "hat"):
            wiring.connect(m, getattr(slot, name), getattr(wr, name))
        for name in ("proj", "probs", "o"):
            wiring.connect(m, getattr(ex, name), getattr(wr, name))
        wiring.connect(m, wr.needed_out, ex.needed)
        m.d.comb += [wr.seq_len.eq(seq_len), wr.trace.eq(trace)]
        m.d.comb += [wr.base[name].eq(regs[f"{name}_addr"]) for name in RESULT_BUFFERS]

        # ---- Counters (this job). CYCLES_* live outside the core, so a fault keeps them.
        cycles = {name: Signal(COUNTER_BITS, name=name) for name in ("cycles_total", "cycles_spec",
                                                                     "cycles_exec", "cycles_stall")}
        wide = dict(cycles)
        with top.If(ctl.clear_counters):
            top.d.sync += [v.eq(0) for v in cycles.values()]
        with top.Elif(ctl.busy):
            top.d.sync += cycles["cycles_total"].eq(cycles["cycles_total"] + 1)
            with top.If(slot.busy):
                top.d.sync += cycles["cycles_spec"].eq(cycles["cycles_spec"] + 1)
            with top.If(ex.busy):
                top.d.sync += cycles["cycles_exec"].eq(cycles["cycles_exec"] + 1)
            with top.If(fetcher.busy & ~self.axi.rvalid):
                top.d.sync += cycles["cycles_stall"].eq(cycles["cycles_stall"] + 1)
        P = pairs_bits(hw)
        kept_base = Signal(data.ArrayLayout(P, hw.max_rounds))
        kv_base = Signal(32)
        for r in range(MAX_ROUNDS):
            wide[f"pairs_round{r + 1}"] = cnt = Signal(P, name=f"pairs_round{r + 1}")
            if r < hw.max_rounds:
                m.d.comb += cnt.eq(spec.perf.kept_round[r][:P] - kept_base[r])
        for name, value in wide.items():
            top.d.comb += [status[name].eq(value[:32]), status[f"{name}_hi"].eq(value[32:])]
        m.d.comb += status.kv_rows.eq(ex.perf.kv_rows - kv_base)
        o_rows = Signal(range(L + 1))     # o rows written of the current head
        with m.If(wr.o_rows):
            m.d.sync += o_rows.eq(o_rows + 1)
            with m.If(o_rows + 1 == seq_len):
                m.d.sync += [o_rows.eq(0), status.progress.eq(status.progress + 1)]
        with m.If(ctl.clear_counters):     # a refused job reads PROGRESS 0 too
            m.d.sync += status.progress.eq(0)
        with m.If(ctl.go):
            m.d.sync += [status.progress.eq(0), o_rows.eq(0), kv_base.eq(ex.perf.kv_rows)]
            m.d.sync += [kept_base[r].eq(spec.perf.kept_round[r][:P]) for r in range(hw.max_rounds)]
        return top


@block("top", unit="system")
def _top(cfg):
    """The LAPA accelerator top level (AXI4-Lite registers, AXI4 master, irq)."""
    return LapaTop(cfg)
