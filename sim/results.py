"""cocotb testbench of the result writer: every producer's rows land where `lapa.memlayout` says.

Jobs of several shapes (seq_len 1, max_seq_len and between; one or two KV head groups; trace off
and on) run back to back without a reset, each loading its bases at `start`, the RAM filled with
a random guard pattern. The spec side queues, per query head, the q_hat / k_hat rows (trace),
the kept-key lists and, after a group's last head, its key_needed list; the exec side waits, like
the top level, until `mask_rows` covers its group, queues the group's q / k / v rows (K and V of
the needed keys in random order between the q rows), its kept probabilities and its o rows, then
waits for `exec_quiet` and pulses `next_group`. After each job the whole RAM must equal the
expected image: the guard, overlaid with the rows `MemoryLayout.encode` gives (with trace = 0 only
mask and o; k / v only the needed keys' rows, probs only each row's compacted words), and the
AXI bursts must be exactly those rows, one burst each.

A monitor follows every cycle: the rows handed over (the last beat of a row taken) and the rows
the memory has acknowledged (B responses, matched to their AW address), so that `quiet` is never
1 while any row is in flight nor `exec_quiet` while an o / q / k / v row is; `mask_rows` only
steps by one, never beyond the mask rows acknowledged, and each mask row it counts is in the
RAM; each `o_rows` pulse likewise; `error` stays 0.

`needed_back_to_back` keeps the copy FIFO of key_needed full (its beats back to back, `needed_out`
always ready): the writer once counted a row handed over when a `last` beat was offered but not
taken, and `quiet` never rose. `hat` beats come only with trace = 1, as the speculation unit sends
them (the writer does not drop them otherwise).
"""

import itertools

import cocotb
import numpy as np
from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In
from cocotb.triggers import FallingEdge, ReadOnly
from cocotbext.axi import AxiBus, AxiRam

from lapa.memlayout import PAGE, MemoryLayout, expand_probs
from rtl.execution.unit import KIND_K, KIND_Q, KIND_V, o_layout, proj_layout
from rtl.execution.kv_control import kv_request_layout
from rtl.soc.results import RESULT_BUFFERS, ResultWriter
from rtl.execution.softmax import prob_beat
from rtl.speculation.unit import hat_layout

from .mask_codec import random_mask
from .streams import StreamSink, StreamSource, key_beats, load_config, make_rng, pack, reset, start_clock, unpack

ADDR_WIDTH, DATA_WIDTH = 32, 64          # ResultWriter's defaults, the top level's bus
BUS = DATA_WIDTH // 8
MEM = 1 << 17                            # RAM bytes: a job's layout (<= 64 KiB) at a random page
EXEC = ("o", "q", "k", "v")              # the buffers `exec_quiet` waits for
CYCLE_LIMIT = 10000                      # per wait: a hang becomes a failure


class ResultsHarness(wiring.Component):
    """`ResultWriter` with its `trace` input named `trace_on`: as a top-level port, `trace`
    clashes with the `trace()` method of the model class Verilator generates."""

    def __init__(self, hw):
        self.writer = ResultWriter(hw, addr_width=ADDR_WIDTH, data_width=DATA_WIDTH)
        members = dict(self.writer.signature.members)
        members["trace_on"] = members.pop("trace")
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.writer = w = self.writer
        for name, member in w.signature.members.items():
            ours, theirs = getattr(self, "trace_on" if name == "trace" else name), getattr(w, name)
            if member.is_signature:
                wiring.connect(m, wiring.flipped(ours), theirs)
            elif member.flow == In:
                m.d.comb += theirs.eq(ours)
            else:
                m.d.comb += ours.eq(theirs)
        return m


def jobs(rng, L):
    """(seq_len, query heads, KV heads, trace) of each job, trace off and on at every size."""
    mid = rng.randint(2, L - 1)
    return [(L, 2, 2, 0), (L, 2, 2, 1), (1, 2, 1, 1), (1, 1, 1, 0), (mid, 2, 1, 1), (L, 2, 1, 1),
            (mid, 2, 2, 0)]


class Job:
    """One job's data (random), its memory layout and the image and bursts the RAM must get."""

    def __init__(self, rng, hw, seq_len, heads, groups, trace):
        L, H, G, dh = seq_len, heads, groups, hw.head_dim
        self.L, self.H, self.G, self.trace = L, H, G, trace
        size = MemoryLayout(L, hw.d_model, dh, H, G, bus_bytes=BUS).size
        self.lay = MemoryLayout(L, hw.d_model, dh, H, G, bus_bytes=BUS,
                                base=rng.randrange((MEM - size) // PAGE + 1) * PAGE)
        nrng = np.random.default_rng(rng.getrandbits(32))
        self.mask = np.stack([self.sparse_mask(rng, L) for _ in range(H)])          # [H, L, L]
        self.needed = self.mask.reshape(G, H // G * L, L).any(axis=1)               # [G, L]
        int8 = lambda *shape: nrng.integers(-128, 128, shape, dtype=np.int8)       # noqa: E731
        self.rows = {"q_hat": int8(H, L, dh), "k_hat": int8(G, L, dh), "q": int8(H, L, dh),
                     "k": int8(G, L, dh), "v": int8(G, L, dh), "o": int8(H, L, dh)}
        kept = self.mask.sum(axis=-1)
        self.probs = np.where(np.arange(L) < kept[..., None],                      # compacted rows
                              nrng.integers(0, 1 << 16, (H, L, L), dtype=np.uint16), 0).astype(np.uint16)
        self.guard = rng.randbytes(MEM)

    @staticmethod
    def sparse_mask(rng, L):
        """`random_mask` rows limited to a random subset of the keys (so key_needed has gaps:
        K / V rows of some keys only), every row keeping at least one key."""
        allowed = np.zeros(L, bool)
        allowed[rng.sample(range(L), rng.randint(1, L))] = True
        mask = random_mask(rng, L) & allowed
        for t in np.flatnonzero(~mask.any(axis=1)):
            mask[t, rng.choice(np.flatnonzero(allowed))] = True
        return mask

    def expected(self):
        """(RAM image, sorted (address, beats) of every burst) the job must leave."""
        lay, img, bursts = self.lay, bytearray(self.guard), []

        def put(name, array, row_bytes=None):
            buf = lay[name]
            raw = lay.encode(name, array)
            for r in range(buf.rows):
                n = buf.stride if row_bytes is None else int(row_bytes[r])
                if n:
                    at = buf.addr + r * buf.stride
                    img[at:at + n] = raw[r * buf.stride:r * buf.stride + n]
                    bursts.append((at, n // BUS))

        put("mask", lay.pack_bits(self.mask))
        put("o", self.rows["o"])
        if self.trace:
            put("key_needed", lay.pack_bits(self.needed))
            for name in ("q_hat", "k_hat", "q"):
                put(name, self.rows[name])
            for name in ("k", "v"):
                put(name, self.rows[name], self.needed.reshape(-1) * lay[name].stride)
            kept = self.mask.sum(axis=-1).reshape(-1)
            put("probs", self.probs, (2 * kept + BUS - 1) // BUS * BUS)
        return img, sorted(bursts)

    def buffer_of(self, addr):
        """The output buffer holding byte `addr` (None: none does)."""
        return next((name for name in self.lay.OUTPUTS
                     if self.lay[name].addr <= addr < self.lay[name].addr + self.lay[name].size), None)


class ResultsTB:
    """Drivers on every input stream, a sink on `needed_out`, the AXI RAM and the monitor."""

    def __init__(self, dut, hw, rng, stall):
        self.dut, self.hw, self.rng = dut, hw, rng
        iw = hw.seq_index_width
        self.layouts = {"kept": kv_request_layout(iw), "needed": kv_request_layout(iw),
                        "hat": hat_layout(hw), "proj": proj_layout(hw), "probs": prob_beat(), "o": o_layout(hw)}
        self.base_layout = data.StructLayout({name: ADDR_WIDTH for name in RESULT_BUFFERS})
        self.ram = AxiRam(AxiBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=MEM)
        if stall:
            for ch in (self.ram.write_if.aw_channel, self.ram.write_if.w_channel, self.ram.write_if.b_channel):
                ch.set_pause_generator(rng.random() < stall for _ in itertools.count())
        self.src = {name: StreamSource(dut, name, rng, gap=stall) for name in self.layouts}
        self.needed_out = StreamSink(dut, "needed_out", rng, backpressure=stall)
        for name in ("start", "next_group", "trace_on", "seq_len", "base"):
            getattr(dut, name).value = 0
        self.job = None
        self.inflight = dict.fromkeys(MemoryLayout.OUTPUTS, 0)
        self.acked = dict.fromkeys(self.inflight, 0)
        self.aw = []                   # (addr, beats) of the bursts not yet acknowledged
        self.bursts = []               # (addr, beats) of every burst of the job
        self.mask_rows = self.o_rows = self.started = 0
        self.busy_cycles = self.exec_busy_cycles = 0

    # ---- the monitor: one sample per cycle, in ReadOnly after the drivers have moved
    def handed(self, name, payload):
        """The buffer a taken beat completes a row of (None: not a row's end, or dropped)."""
        p = unpack(self.layouts[name], payload)
        trace = int(self.dut.trace_on.value)
        if name == "kept":
            return "mask" if p.last else None
        if name == "needed":
            return "key_needed" if p.last and trace else None
        if name == "hat":
            return "k_hat" if p.is_k else "q_hat"
        if name == "proj":
            return {KIND_Q: "q", KIND_K: "k", KIND_V: "v"}[int(p.kind)] if trace else None
        if name == "probs":
            return "probs" if p.last and trace else None
        return "o" if int(p.chunk) == self.hw.head_dim // self.hw.av_lanes - 1 else None

    def row_in_ram(self, name, r):
        """Row r of buffer `name` in the RAM as the expected image has it."""
        buf = self.job.lay[name]
        at = buf.addr + r * buf.stride
        return self.ram.read(at, buf.stride) == bytes(self.image[at:at + buf.stride])

    async def monitor(self):
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            await ReadOnly()
            assert int(dut.error.value) == 0, "error went high"
            # the outputs show the state up to the previous edge: check them against it first
            pending = sum(self.inflight.values())
            if pending:
                self.busy_cycles += 1
                assert not int(dut.quiet.value), f"quiet while rows are in flight {self.inflight}"
            if sum(self.inflight[n] for n in EXEC):
                self.exec_busy_cycles += 1
                assert not int(dut.exec_quiet.value), f"exec_quiet while rows are in flight {self.inflight}"
            rows = int(dut.mask_rows.value)
            if self.started:
                assert rows == 0, f"mask_rows = {rows} after start"
            elif rows != self.mask_rows:
                assert rows == self.mask_rows + 1, f"mask_rows went {self.mask_rows} -> {rows}"
                assert rows <= self.acked["mask"], f"mask_rows = {rows}, {self.acked['mask']} rows acknowledged"
                assert self.row_in_ram("mask", rows - 1), f"mask_rows = {rows}: row {rows - 1} not in memory"
            self.mask_rows, self.started = rows, int(dut.start.value)
            if int(dut.o_rows.value):
                self.o_rows += 1
                assert self.o_rows <= self.acked["o"], f"o_rows pulse {self.o_rows}, {self.acked['o']} acknowledged"
                assert self.row_in_ram("o", self.o_rows - 1), f"o_rows pulse {self.o_rows}: row not in memory"
            # then this cycle's transfers
            for name, src in self.src.items():
                if int(src.valid.value) and int(src.ready.value):
                    buf = self.handed(name, int(src.payload.value))
                    if buf:
                        self.inflight[buf] += 1
            if int(dut.axi__awvalid.value) and int(dut.axi__awready.value):
                addr, beats = int(dut.axi__awaddr.value), int(dut.axi__awlen.value) + 1
                assert addr + beats * BUS <= MEM, f"burst at {addr:#x} outside the RAM"
                self.aw.append((addr, beats))
                self.bursts.append((addr, beats))
            if int(dut.axi__bvalid.value) and int(dut.axi__bready.value):
                assert self.aw, "write response without a burst"
                addr, _ = self.aw.pop(0)
                buf = self.job.buffer_of(addr)
                assert buf is not None and self.inflight[buf] > 0, \
                    f"burst at {addr:#x} ({buf}) acknowledged, none of its rows in flight {self.inflight}"
                self.inflight[buf] -= 1
                self.acked[buf] += 1

    # ---- drivers
    async def cycles_until(self, cond, what):
        for _ in range(CYCLE_LIMIT):
            await FallingEdge(self.dut.clk)
            if cond():
                return
        raise TimeoutError(f"{what}: not after {CYCLE_LIMIT} cycles (in flight {self.inflight})")

    def spec_side(self, job):
        """Per query head: the hat rows (trace), its kept lists, its group's needed list after
        its group's last head. Returns the needed beats `needed_out` must pass on."""
        per, passed = job.H // job.G, []
        for h in range(job.H):
            g = h // per
            if job.trace:
                hat = self.layouts["hat"]
                self.src["hat"].send_all(pack(hat, {"is_k": 0, "row": t, "data": job.rows["q_hat"][h, t].tolist()})
                                         for t in range(job.L))
                if h % per == 0:
                    self.src["hat"].send_all(pack(hat, {"is_k": 1, "row": t, "data": job.rows["k_hat"][g, t].tolist()})
                                             for t in range(job.L))
            for t in range(job.L):
                self.src["kept"].send_all(key_beats(self.layouts["kept"], np.flatnonzero(job.mask[h, t])))
            if h % per == per - 1:
                beats = key_beats(self.layouts["needed"], np.flatnonzero(job.needed[g]))
                self.src["needed"].send_all(beats)
                passed += beats
        return passed

    async def exec_side(self, job):
        """Per group, once its mask rows are acknowledged: q / k / v rows, probabilities and o
        rows of its heads; then `exec_quiet` and `next_group`."""
        per, A, dh = job.H // job.G, self.hw.av_lanes, self.hw.head_dim
        proj, probs, o = (self.layouts[n] for n in ("proj", "probs", "o"))
        for g in range(job.G):
            await self.cycles_until(lambda: int(self.dut.mask_rows.value) >= (g + 1) * per * job.L,
                                    f"mask rows of group {g}")
            kv = [(kind, int(s)) for s in np.flatnonzero(job.needed[g]) for kind in (KIND_K, KIND_V)]
            self.rng.shuffle(kv)
            qs = [(KIND_Q, h, t) for h in range(g * per, (g + 1) * per) for t in range(job.L)]
            beats = []
            while kv or qs:   # K / V rows between the q rows (the q rows stay in order)
                if kv and (not qs or self.rng.random() < 0.5):
                    kind, s = kv.pop()
                    row = job.rows["k" if kind == KIND_K else "v"][g, s]
                    beats.append(pack(proj, {"kind": kind, "row": s, "data": row.tolist()}))
                else:
                    _, h, t = qs.pop(0)
                    beats.append(pack(proj, {"kind": KIND_Q, "row": t, "data": job.rows["q"][h, t].tolist()}))
            self.src["proj"].send_all(beats)
            for h in range(g * per, (g + 1) * per):
                for t in range(job.L):
                    n = int(job.mask[h, t].sum())
                    self.src["probs"].send_all(pack(probs, {"prob": int(job.probs[h, t, j]), "last": int(j == n - 1)})
                                               for j in range(n))
                    row = job.rows["o"][h, t]
                    self.src["o"].send_all(pack(o, {"row": t, "chunk": c, "data": row[c * A:(c + 1) * A].tolist()})
                                           for c in range(dh // A))
            await self.cycles_until(lambda: all(self.src[n].idle for n in ("proj", "probs", "o")),
                                    f"beats of group {g}")
            await FallingEdge(self.dut.clk)     # the last beat's row is counted from here on
            await self.cycles_until(lambda: int(self.dut.exec_quiet.value), f"exec_quiet after group {g}")
            self.dut.next_group.value = 1
            await FallingEdge(self.dut.clk)
            self.dut.next_group.value = 0

    def idle(self):
        return all(s.idle for s in self.src.values())

    async def run(self, job, label):
        dut = self.dut
        self.image, want_bursts = job.expected()
        self.ram.write(0, job.guard)
        self.bursts, self.o_rows = [], 0
        self.acked = dict.fromkeys(self.inflight, 0)
        await FallingEdge(dut.clk)
        dut.seq_len.value, dut.trace_on.value, dut.start.value = job.L, job.trace, 1
        dut.base.value = pack(self.base_layout, {name: job.lay["o" if name == "out" else name].addr
                                                 for name in RESULT_BUFFERS})
        self.job = job
        await FallingEdge(dut.clk)
        dut.start.value = 0
        passed = self.spec_side(job)
        await self.exec_side(job)
        await self.cycles_until(self.idle, f"{label}: sources")
        await FallingEdge(dut.clk)
        await self.cycles_until(lambda: int(dut.quiet.value), f"{label}: quiet")
        for _ in range(3):
            await FallingEdge(dut.clk)
        assert int(dut.quiet.value) and int(dut.exec_quiet.value), f"{label}: quiet / exec_quiet fell again"
        assert not any(self.inflight.values()), f"{label}: quiet with rows in flight {self.inflight}"
        rows = job.H * job.L
        assert (self.mask_rows, self.o_rows) == (rows, rows), \
            f"{label}: mask_rows {self.mask_rows}, o_rows pulses {self.o_rows}, expected {rows} each"
        got = list(self.needed_out.items)
        self.needed_out.items.clear()
        assert got == passed, f"{label}: needed_out passed {len(got)} beats {got}, expected {passed}"
        self.check_memory(job, label, want_bursts)

    def check_memory(self, job, label, want_bursts):
        lay, mem = job.lay, self.ram.read(0, MEM)
        for name in lay.OUTPUTS:
            buf = lay[name]
            lo, hi = buf.addr, buf.addr + buf.size
            if mem[lo:hi] != self.image[lo:hi]:
                at = next(i for i in range(lo, hi) if mem[i] != self.image[i])
                raise AssertionError(f"{label}: {name} row {(at - lo) // buf.stride} byte {(at - lo) % buf.stride}: "
                                     f"{mem[at]:#04x}, expected {self.image[at]:#04x}")
        if mem != self.image:
            at = next(i for i in range(MEM) if mem[i] != self.image[i])
            raise AssertionError(f"{label}: byte at {at:#x} (buffer {job.buffer_of(at)}) outside the rows written: "
                                 f"{mem[at]:#04x}, the guard {self.image[at]:#04x}")
        if job.trace:   # the compacted rows scatter back to the dense probabilities
            dense = expand_probs(lay.decode("probs", mem[lay["probs"].addr:]), job.mask)
            assert (dense == expand_probs(job.probs, job.mask)).all(), f"{label}: probs do not expand back"
        assert sorted(self.bursts) == want_bursts, \
            f"{label}: {len(self.bursts)} bursts, expected {len(want_bursts)} (one per row)"


@cocotb.parametrize(stall=[0.0, 0.4])
async def rows_land_per_contract(dut, stall):
    await start_clock(dut)
    hw = load_config().hw
    rng = make_rng(dut._log)
    tb = ResultsTB(dut, hw, rng, stall)
    await reset(dut)
    cocotb.start_soon(tb.monitor())
    for j, shape in enumerate(jobs(rng, hw.max_seq_len)):
        label = f"job {j} (seq_len, heads, KV heads, trace) = {shape}"
        await tb.run(Job(rng, hw, *shape), label)
    assert tb.busy_cycles and tb.exec_busy_cycles, "no cycle with rows in flight: the quiet checks never ran"


@cocotb.test()
async def needed_back_to_back(dut):
    """One traced job at full rate with its `needed` beats back to back and `needed_out` always
    ready: the key_needed copy FIFO (depth 2) fills, and a `last` beat offered but not taken
    must not count as a row handed over (it did once: that row never completed and `quiet`
    never rose)."""
    await start_clock(dut)
    hw = load_config().hw
    rng = make_rng(dut._log)
    tb = ResultsTB(dut, hw, rng, 0.0)
    await reset(dut)
    cocotb.start_soon(tb.monitor())
    shape = (hw.max_seq_len, 2, 2, 1)
    await tb.run(Job(rng, hw, *shape), f"(seq_len, heads, KV heads, trace) = {shape}, needed back to back")
