"""Job sequencer: the job's steps, then the speculation side and the execution side in parallel.

After `go` (the job's registers `regs` are latched into `job`), for every KV head g (its query
heads in order):
1. RoPE table rows into both units' tables (once per job, when `rope` = 1; `rope_addr` counts
   the rows as they arrive, `rope_valid`).
2. Speculation side, per query head: its LO-coded wq (and, for the group's first head, wk) into
   the speculation unit's weight buffer (`w_addr` counts the entries, `w_valid`), then
   `spec_start` and the x rows; the next head once the rows are issued and the unit is idle.
   With `projects` = False (a predictor that reads no x / weights, `rtl.predictors.plug.PROJECTS`)
   only `spec_start`, then the wait for the predictor.
3. Execution side, per KV head: x and the group's wk / wv tiles (the unit's LOAD), with `pre`
   (the predictor takes the unit's exact rows: `rtl.execution.prephase`) each query head's wq
   tiles for the pre-phase, as the unit asks for them (they must not wait for the mask), then, once
   the group's mask rows are acknowledged in memory (`mask_rows`), per query head its wq tiles
   (only when the unit asks for them, `exec_wq_ready`) and its mask rows; the next group once the
   unit and its result rows are done (`exec_quiet`; `next_group` pulses).
The speculation side predicts group g + 1 while the execution side works on group g; they meet
only where the data flows (`needed`, and the mask rows in memory). `finished` pulses when both
sides are through and every result is in memory (`quiet`). Reads are multi-row commands on
`fetch[0]` (speculation side) and `fetch[1]` (execution side) of a `FetchScheduler`.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import BUS_BITS, HardwareConfig

from rtl.soc.config_check import head_groupings
from rtl.soc.fetch_scheduler import fetch_command_layout
from rtl.soc.regbank import bank_layout

__all__ = ["F_SPEC_X", "F_SPEC_W", "F_ROPE", "F_EXEC_X", "F_WK", "F_WV", "F_WQ", "F_MASK", "N_DEST",
           "fetch_limits", "JobSequencer"]

# fetch destinations
F_SPEC_X, F_SPEC_W, F_ROPE, F_EXEC_X, F_WK, F_WV, F_WQ, F_MASK = range(8)
N_DEST = 8
BUS_BYTES = BUS_BITS // 8


def fetch_limits(hw: HardwareConfig):
    """(rows, words): the most rows of one fetch command and the most bus words of one row."""
    L, D, dh = hw.max_seq_len, hw.d_model, hw.head_dim
    return max(L, D), max(L // BUS_BITS + 1, D // BUS_BYTES, dh // 4)


class JobSequencer(wiring.Component):
    """The controller of a job's reads and unit starts (see module docstring)."""

    def __init__(self, hw: HardwareConfig, regs, *, addr_width=32, mask_rows_width, projects=True, pre=False):
        self.hw, self.addr_width, self.projects, self.pre = hw, addr_width, projects, pre
        L, H = hw.max_seq_len, hw.n_heads
        job = bank_layout(regs, "rw")
        cmd = fetch_command_layout(addr_width, N_DEST, *fetch_limits(hw))
        super().__init__({
            "regs": In(job), "go": In(1), "job": Out(job),
            "running": Out(1), "finished": Out(1),
            "fetch": Out(stream.Signature(cmd)).array(2),
            "fetch_busy": In(2), "exec_fetch_addr": In(addr_width),
            "rope_valid": In(1), "rope_addr": Out(range(L + 1)),
            "w_valid": In(1), "w_addr": Out(range(2 * (hw.head_dim // hw.pea_lanes) * hw.d_model + 1)),
            "grp": Out(range(H + 1)), "project_k": Out(1), "last_head": Out(1),
            "spec_start": Out(1), "spec_busy": In(1),
            "exec_busy": In(1), "exec_wq_ready": In(1),
            "wr_start": Out(1), "next_group": Out(1),
            "mask_rows": In(mask_rows_width), "quiet": In(1), "exec_quiet": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        hw, job, A = self.hw, self.job, self.addr_width
        D, dh, L, H = hw.d_model, hw.head_dim, hw.max_seq_len, hw.n_heads
        G = dh // hw.pea_lanes
        seq_len = job.seq_len[:L.bit_length()]
        for h, g in head_groupings(H):    # query heads per KV head
            with m.If((job.heads.n_heads == h) & (job.heads.n_kv_heads == g)):
                m.d.comb += self.grp.eq(h // g)
        grp = self.grp
        mask_words = Signal(range(L // BUS_BITS + 2))   # bus words per mask row
        m.d.comb += mask_words.eq((seq_len + BUS_BITS - 1) >> (BUS_BITS.bit_length() - 1))
        g_idx = Signal(range(H + 1))      # KV head of the speculation side
        j_idx = Signal(range(H + 1))      # query head within the group
        g_exec = Signal(range(H + 1))     # KV head of the execution side
        jq = Signal(range(H + 1))         # execution: wq/mask fetches issued in the group
        wq_group = Signal(A)              # execution: the group's first wq (with a pre-phase)
        last_head = j_idx == grp - 1
        m.d.comb += [self.project_k.eq(j_idx == 0), self.last_head.eq(last_head)]
        with m.If(self.rope_valid):
            m.d.sync += self.rope_addr.eq(self.rope_addr + 1)
        with m.If(self.w_valid):
            m.d.sync += self.w_addr.eq(self.w_addr + 1)

        ptr = {name: Signal(A, name=f"{name}_ptr") for name in ("wq_lo", "wk_lo", "wq", "wk", "wv", "mask_rd")}
        mask_needed = Signal.like(self.mask_rows)    # mask rows in memory before the execution group
        group_rows = Signal.like(self.mask_rows)
        m.d.comb += group_rows.eq(grp * seq_len)
        spec_f, exec_f = self.fetch

        def fetch(side, dest, addr, rows, words, nxt, *extra):
            """Hand `side` the command (it takes it when idle), then go to state `nxt`."""
            m.d.comb += [side.valid.eq(1), side.payload.dest.eq(dest), side.payload.addr.eq(addr),
                         side.payload.rows.eq(rows), side.payload.words.eq(words)]
            with m.If(side.ready):
                m.d.sync += list(extra)
                m.next = nxt

        def fetch_head(side, dest, name, nxt, *extra):
            """One head's D x dh weight bytes from pointer `name` (advanced past them)."""
            fetch(side, dest, ptr[name], D, dh // BUS_BYTES, nxt, ptr[name].eq(ptr[name] + D * dh), *extra)

        run_s = Signal()                   # the speculation side is working through the groups
        run_e = Signal()
        with m.FSM(name="job") as job_fsm:
            with m.State("IDLE"):
                with m.If(self.go):
                    m.d.sync += [job.eq(self.regs), g_idx.eq(0), j_idx.eq(0), g_exec.eq(0), self.rope_addr.eq(0),
                                 mask_needed.eq(0)]
                    m.d.sync += [p.eq(self.regs[f"{name}_addr"]) for name, p in ptr.items() if name != "mask_rd"]
                    m.d.sync += ptr["mask_rd"].eq(self.regs.mask_addr)
                    m.d.comb += self.wr_start.eq(1)
                    m.next = "ROPE"
            with m.State("ROPE"):
                with m.If(job.rope):
                    fetch(spec_f, F_ROPE, job.rope_addr, seq_len, 2 * dh // BUS_BYTES, "ROPE_WAIT")
                with m.Else():
                    m.d.sync += [run_s.eq(1), run_e.eq(1)]
                    m.next = "RUN"
            with m.State("ROPE_WAIT"):
                with m.If(self.rope_addr == seq_len):
                    m.d.sync += [run_s.eq(1), run_e.eq(1)]
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(~run_s & ~run_e):
                    m.next = "FINISH"
            with m.State("FINISH"):
                with m.If(self.quiet):
                    m.d.comb += self.finished.eq(1)
                    m.next = "IDLE"
        m.d.comb += self.running.eq(~job_fsm.ongoing("IDLE"))

        head_first = "WQ" if self.projects else "START"   # a head's first state
        with m.FSM(name="spec_side"):
            with m.State("IDLE"):
                with m.If(run_s):
                    m.next = head_first
            with m.State("WQ"):
                fetch_head(spec_f, F_SPEC_W, "wq_lo", "WK", self.w_addr.eq(0))
            with m.State("WK"):
                with m.If(j_idx != 0):
                    m.next = "W_WAIT"
                with m.Else():
                    fetch_head(spec_f, F_SPEC_W, "wk_lo", "W_WAIT")
            with m.State("W_WAIT"):
                with m.If(self.w_addr == Mux(j_idx == 0, 2 * G * D, G * D)):
                    m.next = "START"
            with m.State("START"):
                if self.projects:
                    fetch(spec_f, F_SPEC_X, job.x_addr, seq_len, D // BUS_BYTES, "WAIT")
                    m.d.comb += self.spec_start.eq(spec_f.ready)
                else:
                    m.d.comb += self.spec_start.eq(1)
                    m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(~self.fetch_busy[0] & ~self.spec_busy):
                    with m.If(~last_head):
                        m.d.sync += j_idx.eq(j_idx + 1)
                        m.next = head_first
                    with m.Else():
                        m.d.sync += [j_idx.eq(0), g_idx.eq(g_idx + 1)]
                        with m.If(g_idx + 1 == job.heads.n_kv_heads):
                            m.d.sync += run_s.eq(0)
                            m.next = "IDLE"
                        with m.Else():
                            m.next = head_first

        with m.FSM(name="exec_side"):
            with m.State("IDLE"):
                with m.If(run_e):
                    m.next = "X"
            with m.State("X"):
                # the execution unit is in LOAD: x and the group's wk / wv tiles
                fetch(exec_f, F_EXEC_X, job.x_addr, seq_len, D // BUS_BYTES, "WK", mask_needed.eq(mask_needed + group_rows))
            with m.State("WK"):
                fetch_head(exec_f, F_WK, "wk", "WV")
            with m.State("WV"):
                fetch_head(exec_f, F_WV, "wv", "PRE_WQ" if self.pre else "MASK_WAIT", jq.eq(0),
                           *([wq_group.eq(ptr["wq"])] if self.pre else []))
            if self.pre:
                with m.State("PRE_WQ"):
                    # the unit's pre-phase: each query head's wq tiles once, before the group's mask exists
                    with m.If(self.exec_wq_ready):
                        fetch_head(exec_f, F_WQ, "wq", "PRE_NEXT")
                with m.State("PRE_NEXT"):
                    with m.If(~self.exec_wq_ready):    # the unit has the head's tiles
                        m.d.sync += jq.eq(jq + 1)
                        with m.If(jq + 1 == grp):     # phase 3 fetches the group's wq again
                            m.d.sync += [jq.eq(0), ptr["wq"].eq(wq_group)]
                            m.next = "MASK_WAIT"
                        with m.Else():
                            m.next = "PRE_WQ"
            with m.State("MASK_WAIT"):
                # the group's mask rows must be in memory before they are read back
                with m.If(self.mask_rows >= mask_needed):
                    m.next = "WQ"
            with m.State("WQ"):
                # wq tiles only when the unit asks for them (Q_LOAD), so they never wait in the fetcher
                with m.If(self.exec_wq_ready):
                    fetch_head(exec_f, F_WQ, "wq", "MASK")
            with m.State("MASK"):
                fetch(exec_f, F_MASK, ptr["mask_rd"], seq_len, mask_words, "MASK_NEXT")
            with m.State("MASK_NEXT"):
                with m.If(~self.fetch_busy[1]):
                    m.d.sync += [ptr["mask_rd"].eq(self.exec_fetch_addr), jq.eq(jq + 1)]
                    with m.If(jq + 1 == grp):
                        m.next = "DRAIN"
                    with m.Else():
                        m.next = "WQ"
            with m.State("DRAIN"):
                with m.If(~self.exec_busy & self.exec_quiet):
                    m.d.comb += self.next_group.eq(1)
                    m.d.sync += g_exec.eq(g_exec + 1)
                    with m.If(g_exec + 1 == job.heads.n_kv_heads):
                        m.d.sync += run_e.eq(0)
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "X"
        return m
