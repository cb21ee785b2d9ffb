"""AXIGuard alone (Amaranth simulator): straight through while connected, every fault kind with its
code and address, the drain finishing held addresses, owed read beats and write beats (WSTRB = 0,
the held beat's payload kept stable) and responses, the watchdog's exact limit, `dead`."""

import random

from amaranth.sim import Simulator

from rtl.soc.axi_guard import AXIGuard
from rtl.soc.regmap import ERROR_CODES

CORE_OUT = ("arid", "araddr", "arlen", "arsize", "arburst", "arlock", "arcache", "arprot", "arvalid", "rready",
            "awid", "awaddr", "awlen", "awsize", "awburst", "awlock", "awcache", "awprot", "awvalid",
            "wdata", "wstrb", "wlast", "wvalid", "bready")
BUS_OUT = ("arready", "rid", "rdata", "rresp", "rlast", "rvalid", "awready", "wready", "bid", "bresp", "bvalid")


def run(bench, limit=0):
    dut = AXIGuard()
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def top(ctx):
        ctx.set(dut.limit, limit)
        await bench(ctx, dut)
    sim.add_testbench(top)
    sim.run()


def test_pass_through_random():
    rng = random.Random(1)

    async def bench(ctx, dut):
        for _ in range(300):
            for name in CORE_OUT:
                sig = getattr(dut.core, name)
                ctx.set(sig, rng.getrandbits(len(sig)))
            for name in BUS_OUT:
                sig = getattr(dut.bus, name)
                # no error responses here: those end the pass-through
                ctx.set(sig, 0 if name in ("rresp", "bresp") else rng.getrandbits(len(sig)))
            for name in CORE_OUT:
                assert ctx.get(getattr(dut.bus, name)) == ctx.get(getattr(dut.core, name)), name
            for name in BUS_OUT:
                assert ctx.get(getattr(dut.core, name)) == ctx.get(getattr(dut.bus, name)), name
            assert not ctx.get(dut.draining)
            # keep the guard's books balanced: no handshakes
            ctx.set(dut.core.arvalid, 0)
            ctx.set(dut.core.awvalid, 0)
            ctx.set(dut.core.wvalid, 0)
            ctx.set(dut.bus.rvalid, 0)
            ctx.set(dut.bus.bvalid, 0)
            await ctx.tick()
    run(bench)


async def accept(ctx, dut, ch, addr, beats):
    """One address handshake on channel `ch` ('ar' or 'aw')."""
    ctx.set(getattr(dut.core, f"{ch}valid"), 1)
    ctx.set(getattr(dut.core, f"{ch}addr"), addr)
    ctx.set(getattr(dut.core, f"{ch}len"), beats - 1)
    ctx.set(getattr(dut.bus, f"{ch}ready"), 1)
    await ctx.tick()
    ctx.set(getattr(dut.core, f"{ch}valid"), 0)
    ctx.set(getattr(dut.bus, f"{ch}ready"), 0)


async def accept_ar(ctx, dut, addr, beats):
    await accept(ctx, dut, "ar", addr, beats)


async def beat(ctx, dut, last=0, resp=0):
    ctx.set(dut.bus.rvalid, 1)
    ctx.set(dut.bus.rlast, last)
    ctx.set(dut.bus.rresp, resp)
    ctx.set(dut.core.rready, 1)
    await ctx.tick()
    ctx.set(dut.bus.rvalid, 0)
    ctx.set(dut.bus.rresp, 0)


def test_read_error_mid_burst_then_drain_with_held_address_and_write():
    """DECERR on beat 2 of 4 while a write address is held and a write beat waits: the fault
    pulses once with READ_DECERR and the burst's address; the guard then completes the held AW
    (same payload), sends its 3 beats (the held one first, unchanged; then WSTRB = 0, WLAST on
    the third), takes B and the read's last 2 beats, the core seeing none of it; then it
    connects again."""

    async def bench(ctx, dut):
        await accept_ar(ctx, dut, 0x1000, 4)
        await beat(ctx, dut)
        # a write burst of 3 beats: AW accepted, its first W beat held (wready low)
        await accept(ctx, dut, "aw", 0x2000, 3)
        ctx.set(dut.core.wvalid, 1)
        ctx.set(dut.core.wdata, 0xDEADBEEF)
        ctx.set(dut.core.wstrb, 0xFF)
        await ctx.tick()                          # W held (wready low)
        await beat(ctx, dut, resp=0b11)           # DECERR on beat 2
        assert ctx.get(dut.fault) and ctx.get(dut.draining)
        assert ctx.get(dut.code) == ERROR_CODES["READ_DECERR"] and ctx.get(dut.fault_addr) == 0x1000
        # the core changes its mind and drops everything: the bus must not notice
        for name in ("wvalid", "rready", "bready", "arvalid", "awvalid"):
            ctx.set(getattr(dut.core, name), 0)
        ctx.set(dut.core.wdata, 0)
        assert ctx.get(dut.bus.wvalid) and ctx.get(dut.bus.wdata) == 0xDEADBEEF and ctx.get(dut.bus.wstrb) == 0xFF
        assert not ctx.get(dut.bus.wlast) and ctx.get(dut.bus.rready) and not ctx.get(dut.bus.arvalid)
        w = []
        ctx.set(dut.bus.wready, 1)
        for _ in range(4):
            if ctx.get(dut.bus.wvalid):
                w.append((ctx.get(dut.bus.wdata), ctx.get(dut.bus.wstrb), ctx.get(dut.bus.wlast)))
            await ctx.tick()
            assert not ctx.get(dut.fault), "fault pulses once"
        ctx.set(dut.bus.wready, 0)
        assert w == [(0xDEADBEEF, 0xFF, 0), (0, 0, 0), (0, 0, 1)], w
        assert ctx.get(dut.draining)
        for last in (0, 1):                       # the read's remaining beats: taken, not passed on
            assert ctx.get(dut.bus.rready)
            ctx.set(dut.bus.rvalid, 1)
            ctx.set(dut.bus.rlast, last)
            assert not ctx.get(dut.core.rvalid)
            await ctx.tick()
        ctx.set(dut.bus.rvalid, 0)
        assert ctx.get(dut.draining), "the write response is still owed"
        ctx.set(dut.bus.bvalid, 1)
        assert ctx.get(dut.bus.bready) and not ctx.get(dut.core.bvalid)
        await ctx.tick()
        ctx.set(dut.bus.bvalid, 0)
        await ctx.tick()
        assert not ctx.get(dut.draining) and not ctx.get(dut.dead)
    run(bench)


def test_held_read_address_kept_through_the_drain():
    async def bench(ctx, dut):
        await accept(ctx, dut, "aw", 0x3000, 1)
        ctx.set(dut.core.wvalid, 1)
        ctx.set(dut.core.wlast, 1)
        ctx.set(dut.bus.wready, 1)
        await ctx.tick()
        ctx.set(dut.core.wvalid, 0)
        ctx.set(dut.bus.wready, 0)
        ctx.set(dut.core.arvalid, 1)              # a read address held when the write fails
        ctx.set(dut.core.araddr, 0x4440)
        ctx.set(dut.core.arlen, 1)
        await ctx.tick()
        ctx.set(dut.bus.bvalid, 1)
        ctx.set(dut.bus.bresp, 0b10)
        ctx.set(dut.core.bready, 1)
        await ctx.tick()
        ctx.set(dut.bus.bvalid, 0)
        assert ctx.get(dut.fault) and ctx.get(dut.code) == ERROR_CODES["WRITE_SLVERR"]
        assert ctx.get(dut.fault_addr) == 0x3000
        ctx.set(dut.core.arvalid, 0)
        ctx.set(dut.core.araddr, 0)
        for _ in range(3):
            assert ctx.get(dut.bus.arvalid) and ctx.get(dut.bus.araddr) == 0x4440 and ctx.get(dut.bus.arlen) == 1
            await ctx.tick()
        ctx.set(dut.bus.arready, 1)
        await ctx.tick()
        ctx.set(dut.bus.arready, 0)
        assert not ctx.get(dut.bus.arvalid) and ctx.get(dut.draining)
        for last in (0, 1):
            await beat(ctx, dut, last=last)
        await ctx.tick()
        assert not ctx.get(dut.draining)
    run(bench)


def test_watchdog_exact_limit_ignores_core_stalls_and_dead():
    limit = 7

    async def bench(ctx, dut):
        await accept_ar(ctx, dut, 0x5000, 2)
        # the memory offers data but the core back-pressures: never a timeout
        ctx.set(dut.bus.rvalid, 1)
        ctx.set(dut.core.rready, 0)
        for _ in range(3 * limit):
            await ctx.tick()
            assert not ctx.get(dut.draining)
        ctx.set(dut.core.rready, 1)
        await ctx.tick()                          # beat 1 taken
        ctx.set(dut.bus.rvalid, 0)
        waited = 0
        while not ctx.get(dut.fault):
            await ctx.tick()
            waited += 1
            assert waited <= limit
        assert waited == limit                    # `limit` cycles waited: the fault pulses the next
        assert ctx.get(dut.code) == ERROR_CODES["READ_TIMEOUT"] and ctx.get(dut.fault_addr) == 0x5000
        await ctx.tick()
        assert ctx.get(dut.dead) and ctx.get(dut.draining)
        await beat(ctx, dut, last=1)              # the late answer ends the drain
        await ctx.tick()
        assert not ctx.get(dut.draining) and not ctx.get(dut.dead)
    run(bench, limit)


def test_watchdog_off_and_write_timeout():
    async def off(ctx, dut):
        await accept_ar(ctx, dut, 0, 1)
        for _ in range(200):
            await ctx.tick()
            assert not ctx.get(dut.draining)
    run(off, 0)

    async def write(ctx, dut):
        ctx.set(dut.core.awvalid, 1)
        ctx.set(dut.core.awaddr, 0x6000)
        for _ in range(3):
            assert not ctx.get(dut.fault)
            await ctx.tick()
        assert ctx.get(dut.fault) and ctx.get(dut.code) == ERROR_CODES["WRITE_TIMEOUT"]
        assert ctx.get(dut.fault_addr) == 0x6000
    run(write, 3)


def test_drain_beats_stalled_by_the_memory_stay_empty():
    """A fault while a write burst still owes beats and the memory stalls them: every drain beat
    (WSTRB = 0) is held unchanged until taken, never replaced by the core's last real beat (the
    bug the formal proof `axi_guard` found: a stalled empty beat became the latched core beat,
    data and strobes, a write into memory and a payload change while held)."""

    async def bench(ctx, dut):
        await accept(ctx, dut, "aw", 0x2000, 3)
        ctx.set(dut.core.wvalid, 1)               # beat 1 of 3, taken at once
        ctx.set(dut.core.wdata, 0xDEADBEEF)
        ctx.set(dut.core.wstrb, 0xFF)
        ctx.set(dut.bus.wready, 1)
        await ctx.tick()
        ctx.set(dut.core.wvalid, 0)
        ctx.set(dut.bus.wready, 0)
        await accept_ar(ctx, dut, 0x1000, 1)
        await beat(ctx, dut, last=1, resp=0b10)   # SLVERR: the drain begins, 2 write beats owed
        assert ctx.get(dut.fault) and ctx.get(dut.draining)
        seen, rng = [], random.Random(3)
        for _ in range(40):
            ready = rng.random() < 0.3
            ctx.set(dut.bus.wready, ready)
            if ctx.get(dut.bus.wvalid):
                now = (ctx.get(dut.bus.wdata), ctx.get(dut.bus.wstrb), ctx.get(dut.bus.wlast))
                assert now[1] == 0, f"a drain beat with WSTRB {now[1]:#x}"
                if seen and seen[-1][1] == "held":
                    assert now == seen[-1][0], "a held drain beat changed"
                seen.append((now, "taken" if ready else "held"))
            await ctx.tick()
        ctx.set(dut.bus.wready, 0)
        assert [b for b, how in seen if how == "taken"] == [(0, 0, 0), (0, 0, 1)], seen
    run(bench)
