"""LAPA top level: speculation unit -> mask in memory -> data fetcher -> execution unit, one controller.

Ports: `axil` (AXI4-Lite slave, the register map of `rtl.regmap`), `axi` (AXI4 master, 64-bit
data, 32-bit byte addresses, the job's buffers of `lapa.memlayout`), `irq` (level:
CTRL.irq_enable & STATUS.done).

A job (CTRL.start) is checked (`rtl.config_check`: a refused job ends at once with STATUS.error
and the ERROR code), then the controller runs, for every KV head g (its query heads h in order):
1. RoPE table rows into both units' tables (once per job, when `rope` = 1).
2. Per query head: its LO-coded wq (and, for the group's first head, wk) into the speculation
   unit's weight buffer, then the x rows; the unit predicts the head's mask, whose kept-key lists
   are packed to bit rows and written to MASK_ADDR. The unit's key_needed list goes straight
   to the execution unit (only needed K/V rows are ever projected).
3. Once the group's mask rows are in memory (write responses counted), per query head the wq
   tiles and the head's mask rows (read back on demand, unpacked to kept-key lists) go to the
   execution unit, which writes `o` rows to OUT_ADDR.
Steps 1-2 (the speculation side) and step 3 (the execution side) are two sequencers: the
speculation unit predicts group g + 1 while the execution unit computes group g, limited only
by the data between them (the execution unit takes `needed` in its LOAD/KV phases).
With CTRL.trace, q_hat/k_hat, q/k/v rows, key_needed and the kept probabilities are written too.
Every result row goes out through the `ResultWriter` (`rtl.results`: whole rows, round robin);
all reads go through one in-order `DataFetcher`, fed row by row by one generator per side; a
row is requested only when its consumer can take all of it (a FIFO's free space for x rows and
mask rows; the unit's own request for wq), so no read waits in the fetcher for a busy consumer.
Counters (CYCLES_*, PAIRS_ROUND*, KV_ROWS) count the current job; CYCLES_* are 64-bit and
PAIRS_ROUND* H * L * L wide (NAME and NAME_HI registers).
Bus faults: the AXI master port goes through `rtl.axi_guard.AXIGuard`. An error response or a
watchdog timeout (WATCHDOG cycles waiting on the memory) ends the job at once: the core (both
sequencers, the units, fetcher, result writer, FIFOs) is reset while the guard finishes the
outstanding bursts, and the job is done with the guard's ERROR code, FAULT_ADDR and `irq`;
CYCLES_* keep the cycles up to the fault (PAIRS_ROUND* and KV_ROWS read 0). A start while the
guard drains waits for it; a start while a burst of a timed-out job is still unanswered
(STATUS.bus_pending) is refused with BUS_PENDING.
"""

from types import SimpleNamespace

from amaranth.hdl import Module, Mux, ResetInserter, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import BUS_BITS
from lapa.fields import MAX_ROUNDS

from .axi import AXI4, AXI4Lite, join_read_write
from .axi_guard import AXIGuard
from .config_check import ConfigCheck, head_groupings
from .execution import ExecutionUnit
from .fetcher import DataFetcher
from .mask_codec import MaskUnpacker
from .param_regs import feed, feed_params
from .regbank import RegisterBank, bank_layout
from .regmap import COUNTER_BITS, ERROR_CODES, pairs_bits, register_map
from .registry import block
from .resize import StreamResize
from .results import RESULT_BUFFERS, ResultWriter
from .speculation import SpeculationUnit

__all__ = ["BUS_BITS", "ADDR_WIDTH", "LapaTop"]

BUS_BYTES = BUS_BITS // 8
ADDR_WIDTH = 32

# fetch destinations and write-back sources
F_SPEC_X, F_SPEC_W, F_ROPE, F_EXEC_X, F_WK, F_WV, F_WQ, F_MASK = range(8)


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
        flush = Signal()
        top.submodules.core = ResetInserter(flush)(m)
        hw = self.hw
        D, dh, L, H = hw.d_model, hw.head_dim, hw.max_seq_len, hw.n_heads
        G = dh // hw.pea_lanes
        top.submodules.bank = bank = self.bank
        wiring.connect(top, wiring.flipped(self.axil), bank.axil)
        regs = bank.config
        status = bank.status
        top.submodules.check = check = ConfigCheck(bank_layout(self.regs, "rw"), max_seq_len=L,
                                                   n_heads=H, max_rounds=hw.max_rounds)
        top.d.comb += check.config.eq(regs)
        top.submodules.guard = guard = AXIGuard(addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        wiring.connect(top, wiring.flipped(self.axi), guard.bus)
        top.d.comb += guard.limit.eq(regs.watchdog)
        m.submodules.spec = spec = SpeculationUnit(self.cfg)
        m.submodules.exec = ex = ExecutionUnit(self.cfg)
        m.submodules.fetcher = fetcher = DataFetcher(n_dest=8, addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        m.submodules.results = wr = ResultWriter(hw, addr_width=ADDR_WIDTH, data_width=BUS_BITS)
        join_read_write(m, wiring.flipped(guard.core), fetcher.axi, wr.axi)

        # The job's registers, latched at start (the host may rewrite them while a job runs).
        job = Signal(bank_layout(self.regs, "rw"))
        seq_len = job.seq_len[:L.bit_length()]
        trace = job.ctrl.trace
        grp = Signal(range(H + 1))        # query heads per KV head
        for h, g in head_groupings(H):
            with m.If((job.heads.n_heads == h) & (job.heads.n_kv_heads == g)):
                m.d.comb += grp.eq(h // g)
        mask_words = Signal(range(L // BUS_BITS + 2))   # bus words per mask row
        m.d.comb += mask_words.eq((seq_len + BUS_BITS - 1) >> (BUS_BITS.bit_length() - 1))

        # ---- Controller state
        busy = Signal()                   # the job FSM is past IDLE, or a start waits for the bus
        running = Signal()                # the job FSM is past IDLE
        done = Signal()
        err = Signal(8)
        go = Signal()                     # the job begins (its registers are latched)
        finished = Signal()               # the job's last result is in memory
        g_idx = Signal(range(H + 1))      # KV head
        j_idx = Signal(range(H + 1))      # query head within the group
        g_exec = Signal(range(H + 1))     # KV head of the execution side
        jq = Signal(range(H + 1))         # execution: wq/mask fetches issued in the group
        last_head = j_idx == grp - 1
        top.d.comb += [status.status.busy.eq(busy), status.status.done.eq(done),
                       status.status.error.eq(err != 0), status.status.bus_pending.eq(guard.dead),
                       status.error.eq(err), status.fault_addr.eq(guard.fault_addr),
                       self.irq.eq(done & regs.ctrl.irq_enable)]

        # ---- Runtime configuration of the units
        # (the SPEC parameters from the table of lapa.fields, checked not to truncate)
        sc = spec.config
        m.d.comb += [sc.seq_len.eq(seq_len), sc.project_k.eq(j_idx == 0), sc.last_head.eq(last_head),
                     feed(sc.n_rounds, job.round_bits.n_rounds, "speculation.n_rounds"), sc.trace.eq(trace)]
        m.d.comb += feed_params(sc, job, "speculation", hw.max_rounds)
        ec = ex.config
        m.d.comb += [ec.seq_len.eq(seq_len), ec.n_q_heads.eq(grp)]
        m.d.comb += feed_params(ec, job, "execution", hw.max_rounds)

        # ---- Reads: two row-by-row fetch generators (speculation side, execution side) share the
        # in-order data fetcher. A row is requested only when its consumer can take all of it
        # (credit), so a request never holds the fetcher while another side waits.
        req = fetcher.req
        room = {}                          # dest -> (space counter, words freed this cycle)

        def generator(side):
            g = SimpleNamespace(busy=Signal(name=f"{side}_busy"), dest=Signal(range(8), name=f"{side}_dest"),
                                addr=Signal(ADDR_WIDTH, name=f"{side}_addr"),
                                rows=Signal(range(max(L, D) + 1), name=f"{side}_rows"),
                                words=Signal(range(max(L // BUS_BITS + 2, D // BUS_BYTES + 1, dh // 4 + 1)),
                                             name=f"{side}_words"),
                                valid=Signal(name=f"{side}_valid"), fire=Signal(name=f"{side}_fire"))
            ok = 1
            for dest, (space, _) in room.items():
                ok = ok & ((g.dest != dest) | (space >= g.words))
            m.d.comb += g.valid.eq(g.busy & ok)
            with m.If(g.fire):
                m.d.sync += [g.addr.eq(g.addr + (g.words << 3)), g.rows.eq(g.rows - 1)]
                with m.If(g.rows == 1):
                    m.d.sync += g.busy.eq(0)

            def issue(dest, addr, rows, words):
                """Fetch `rows` rows of `words` bus words from `addr` (the generator is idle)."""
                m.d.sync += [g.busy.eq(1), g.dest.eq(dest), g.addr.eq(addr), g.rows.eq(rows), g.words.eq(words)]
            g.issue = issue
            return g

        def resized(dest, bits, credit_depth=0):
            """The fetcher's words for `dest`, resized to `bits`; with `credit_depth`, through a FIFO
            of that many words whose free space gates the requests for `dest`."""
            words = fetcher.dest[dest]
            conv = StreamResize(in_width=BUS_BITS, out_width=bits)
            m.submodules[f"fetch{dest}_resize"] = conv
            if credit_depth:
                q = fifo.SyncFIFOBuffered(width=BUS_BITS + 1, depth=credit_depth)
                m.submodules[f"fetch{dest}_fifo"] = q
                space = Signal(range(credit_depth + 1), name=f"fetch{dest}_space", init=credit_depth)
                room[dest] = (space, q.r_en & q.r_rdy)
                m.d.comb += [q.w_en.eq(words.valid), q.w_data.eq(words.payload), words.ready.eq(q.w_rdy),
                             conv.i.valid.eq(q.r_rdy), conv.i.payload.eq(q.r_data), q.r_en.eq(conv.i.ready)]
            else:
                wiring.connect(m, words, conv.i)
            return conv.o

        # x bytes to the speculation unit
        sx = resized(F_SPEC_X, 8, credit_depth=2 * D // BUS_BYTES)
        m.d.comb += [spec.x.valid.eq(sx.valid), spec.x.payload.eq(sx.payload.data), sx.ready.eq(spec.x.ready)]
        # LO codes (a byte each) into the speculation unit's weight buffer
        sw = resized(F_SPEC_W, 8 * hw.pea_lanes)
        spec_w_count = Signal(range(2 * G * D + 1))
        m.d.comb += [sw.ready.eq(1), spec.w_en.eq(sw.valid), spec.w_addr.eq(spec_w_count)]
        for lane in range(hw.pea_lanes):
            m.d.comb += spec.w_data[lane].as_value().eq(sw.payload.data[8 * lane:8 * lane + 6])
        with m.If(sw.valid):
            m.d.sync += spec_w_count.eq(spec_w_count + 1)
        # RoPE table rows into both units
        rope = resized(F_ROPE, 16 * dh)
        rope_count = Signal(range(L + 1))
        m.d.comb += rope.ready.eq(1)
        for unit in (spec, ex):
            m.d.comb += [unit.rope_w_en.eq(rope.valid), unit.rope_w_addr.eq(rope_count),
                         unit.rope_w_data.eq(rope.payload.data)]
        with m.If(rope.valid):
            m.d.sync += rope_count.eq(rope_count + 1)
        # x chunks and weight tiles to the execution unit
        for dest, port, bits in ((F_EXEC_X, ex.x, 8 * hw.mac_cols), (F_WK, ex.wk, 8 * hw.mac_rows * hw.mac_cols),
                                 (F_WV, ex.wv, 8 * hw.mac_rows * hw.mac_cols),
                                 (F_WQ, ex.wq, 8 * hw.mac_rows * hw.mac_cols)):
            o = resized(dest, bits)
            m.d.comb += [port.valid.eq(o.valid), port.payload.eq(o.payload.data), o.ready.eq(port.ready)]
        # mask rows read back as kept-key lists
        m.submodules.unpacker = unpacker = MaskUnpacker(max_seq_len=L, word_width=BUS_BITS)
        wiring.connect(m, resized(F_MASK, BUS_BITS, credit_depth=2 * (L // BUS_BITS + 1)), unpacker.i)
        wiring.connect(m, unpacker.o, ex.kept)

        gen_s, gen_e = generator("fetch_spec"), generator("fetch_exec")
        turn = Signal()                    # round robin between the two sides
        pick_e = Signal()
        m.d.comb += [pick_e.eq(gen_e.valid & (~gen_s.valid | turn)),
                     req.valid.eq(gen_s.valid | gen_e.valid),
                     req.payload.dest.eq(Mux(pick_e, gen_e.dest, gen_s.dest)),
                     req.payload.addr.eq(Mux(pick_e, gen_e.addr, gen_s.addr)),
                     req.payload.beats.eq(Mux(pick_e, gen_e.words, gen_s.words)),
                     gen_e.fire.eq(req.ready & pick_e), gen_s.fire.eq(req.ready & gen_s.valid & ~pick_e)]
        with m.If(req.valid & req.ready):
            m.d.sync += turn.eq(~pick_e)
        for dest, (space, freed) in room.items():
            taken = Mux(req.valid & req.ready & (req.payload.dest == dest), req.payload.beats, 0)
            m.d.sync += space.eq(space + freed - taken)

        # ---- Writes: every result row through the result writer
        for name in ("kept", "needed", "hat"):
            wiring.connect(m, getattr(spec, name), getattr(wr, name))
        for name in ("proj", "probs", "o"):
            wiring.connect(m, getattr(ex, name), getattr(wr, name))
        wiring.connect(m, wr.needed_out, ex.needed)
        m.d.comb += [wr.seq_len.eq(seq_len), wr.trace.eq(trace)]
        m.d.comb += [wr.base[name].eq(regs[f"{name}_addr"]) for name in RESULT_BUFFERS]

        # ---- Counters (this job). CYCLES_* live outside the core, so a fault keeps them.
        cycles = {name: Signal(COUNTER_BITS, name=name) for name in ("cycles_total", "cycles_spec",
                                                                     "cycles_exec", "cycles_stall")}
        wide = dict(cycles)
        with top.If(busy):
            top.d.sync += cycles["cycles_total"].eq(cycles["cycles_total"] + 1)
            with top.If(spec.busy):
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

        # ---- Sequencers: the job, then the speculation side and the execution side in parallel.
        # The speculation side runs ahead (group g + 1 while the execution unit works on group g);
        # they meet where the data flows: `needed` (the execution unit takes it in its LOAD/KV
        # phases) and the mask rows (read only once the group's rows are acknowledged in memory).
        wq_lo_ptr = Signal(ADDR_WIDTH)
        wk_lo_ptr = Signal(ADDR_WIDTH)
        wq_ptr = Signal(ADDR_WIDTH)
        wk_ptr = Signal(ADDR_WIDTH)
        wv_ptr = Signal(ADDR_WIDTH)
        mask_rd_ptr = Signal(ADDR_WIDTH)
        mask_needed = Signal.like(wr.mask_rows)    # mask rows in memory before the execution group
        group_rows = Signal.like(wr.mask_rows)
        m.d.comb += group_rows.eq(grp * seq_len)
        head_bytes = D * dh

        def fetch_head(gen, dest, ptr, nxt, *extra):
            """When `gen` is idle: fetch one head's D x dh weight bytes from `ptr` (advanced past
            them) for `dest`, then go to state `nxt`."""
            with m.If(~gen.busy):
                gen.issue(dest, ptr, D, dh // BUS_BYTES)
                m.d.sync += [ptr.eq(ptr + head_bytes), *extra]
                m.next = nxt

        run_s = Signal()                   # the speculation side is working through the groups
        run_e = Signal()
        # Start, done and ERROR (outside the core): a start is refused at once (BUS_PENDING, or the
        # ConfigCheck code), waits while the guard drains a faulted job's bursts, or begins the job.
        # A bus fault ends the job at once: the core is reset while the guard drains.
        waiting = Signal()                 # a start waits for the guard's drain
        refusal = Mux(guard.dead, ERROR_CODES["BUS_PENDING"], check.error)
        top.d.comb += busy.eq(running | waiting)
        with top.If(bank.start & ~busy):
            top.d.sync += [done.eq(0), err.eq(refusal), *(v.eq(0) for v in cycles.values())]
            with top.If(refusal != 0):
                top.d.sync += done.eq(1)
            with top.Elif(guard.draining):
                top.d.sync += waiting.eq(1)
            with top.Else():
                top.d.comb += go.eq(1)
        with top.If(waiting & (guard.dead | ~guard.draining)):
            top.d.sync += [waiting.eq(0), err.eq(refusal)]
            with top.If(refusal != 0):
                top.d.sync += done.eq(1)
            with top.Else():
                top.d.comb += go.eq(1)
        with top.If(finished):
            top.d.sync += done.eq(1)
        with top.If(guard.fault):
            top.d.comb += flush.eq(1)
            top.d.sync += [done.eq(1), err.eq(guard.code)]

        with m.FSM(name="job") as job_fsm:
            with m.State("IDLE"):
                with m.If(bank.start & ~busy):     # a refused job reads PROGRESS 0 too
                    m.d.sync += status.progress.eq(0)
                with m.If(go):
                    m.d.sync += [job.eq(regs), status.progress.eq(0), o_rows.eq(0),
                                 kv_base.eq(ex.perf.kv_rows)]
                    m.d.sync += [kept_base[r].eq(spec.perf.kept_round[r][:P]) for r in range(hw.max_rounds)]
                    m.d.sync += [g_idx.eq(0), j_idx.eq(0), g_exec.eq(0), rope_count.eq(0),
                                 wq_lo_ptr.eq(regs.wq_lo_addr), wk_lo_ptr.eq(regs.wk_lo_addr),
                                 wq_ptr.eq(regs.wq_addr), wk_ptr.eq(regs.wk_addr),
                                 wv_ptr.eq(regs.wv_addr), mask_rd_ptr.eq(regs.mask_addr),
                                 mask_needed.eq(0)]
                    m.d.comb += wr.start.eq(1)
                    m.next = "ROPE"
            with m.State("ROPE"):
                with m.If(job.rope):
                    gen_s.issue(F_ROPE, job.rope_addr, seq_len, 2 * dh // BUS_BYTES)
                    m.next = "ROPE_WAIT"
                with m.Else():
                    m.d.sync += [run_s.eq(1), run_e.eq(1)]
                    m.next = "RUN"
            with m.State("ROPE_WAIT"):
                with m.If(rope_count == seq_len):
                    m.d.sync += [run_s.eq(1), run_e.eq(1)]
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(~run_s & ~run_e):
                    m.next = "FINISH"
            with m.State("FINISH"):
                with m.If(wr.quiet):
                    m.d.comb += finished.eq(1)
                    m.next = "IDLE"

        m.d.comb += running.eq(~job_fsm.ongoing("IDLE"))

        with m.FSM(name="spec_side"):
            with m.State("IDLE"):
                with m.If(run_s):
                    m.next = "WQ"
            with m.State("WQ"):
                fetch_head(gen_s, F_SPEC_W, wq_lo_ptr, "WK", spec_w_count.eq(0))
            with m.State("WK"):
                with m.If(j_idx != 0):
                    m.next = "W_WAIT"
                with m.Else():
                    fetch_head(gen_s, F_SPEC_W, wk_lo_ptr, "W_WAIT")
            with m.State("W_WAIT"):
                with m.If(spec_w_count == Mux(j_idx == 0, 2 * G * D, G * D)):
                    m.next = "START"
            with m.State("START"):
                m.d.comb += spec.start.eq(1)
                gen_s.issue(F_SPEC_X, job.x_addr, seq_len, D // BUS_BYTES)
                m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(~gen_s.busy & ~spec.busy):
                    with m.If(~last_head):
                        m.d.sync += j_idx.eq(j_idx + 1)
                        m.next = "WQ"
                    with m.Else():
                        m.d.sync += [j_idx.eq(0), g_idx.eq(g_idx + 1)]
                        with m.If(g_idx + 1 == job.heads.n_kv_heads):
                            m.d.sync += run_s.eq(0)
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "WQ"

        with m.FSM(name="exec_side"):
            with m.State("IDLE"):
                with m.If(run_e):
                    m.next = "X"
            with m.State("X"):
                # the execution unit is in LOAD: x and the group's wk / wv tiles
                with m.If(~gen_e.busy):
                    gen_e.issue(F_EXEC_X, job.x_addr, seq_len, D // BUS_BYTES)
                    m.d.sync += mask_needed.eq(mask_needed + group_rows)
                    m.next = "WK"
            with m.State("WK"):
                fetch_head(gen_e, F_WK, wk_ptr, "WV")
            with m.State("WV"):
                fetch_head(gen_e, F_WV, wv_ptr, "MASK_WAIT", jq.eq(0))
            with m.State("MASK_WAIT"):
                # the group's mask rows must be in memory before they are read back
                with m.If(wr.mask_rows >= mask_needed):
                    m.next = "WQ"
            with m.State("WQ"):
                # wq tiles only when the unit asks for them (Q_LOAD), so they never wait in the fetcher
                with m.If(ex.wq.ready):
                    fetch_head(gen_e, F_WQ, wq_ptr, "MASK")
            with m.State("MASK"):
                with m.If(~gen_e.busy):
                    gen_e.issue(F_MASK, mask_rd_ptr, seq_len, mask_words)
                    m.next = "MASK_NEXT"
            with m.State("MASK_NEXT"):
                with m.If(~gen_e.busy):
                    m.d.sync += [mask_rd_ptr.eq(gen_e.addr), jq.eq(jq + 1)]
                    with m.If(jq + 1 == grp):
                        m.next = "DRAIN"
                    with m.Else():
                        m.next = "WQ"
            with m.State("DRAIN"):
                with m.If(~ex.busy & wr.exec_quiet):
                    m.d.comb += wr.next_group.eq(1)
                    m.d.sync += g_exec.eq(g_exec + 1)
                    with m.If(g_exec + 1 == job.heads.n_kv_heads):
                        m.d.sync += run_e.eq(0)
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "X"
        return top


@block("top", unit="system")
def _top(cfg):
    """The LAPA accelerator top level (AXI4-Lite registers, AXI4 master, irq)."""
    return LapaTop(cfg)
