# amaranth: UnusedElaboratable=no
"""Job control (Amaranth simulator): a start is refused (ConfigCheck code, BUS_PENDING), waits for
the guard's drain, or begins; done and ERROR after the job or a bus fault, which flushes the core."""

from amaranth.sim import Simulator

from rtl.soc.job_control import JobControl
from rtl.soc.regmap import ERROR_CODES


def _run(bench):
    dut = JobControl()
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def testbench(ctx):
        await bench(ctx, dut)
    sim.add_testbench(testbench)
    sim.run()


def test_job_control_sequences():
    async def bench(ctx, dut):
        async def start():
            ctx.set(dut.start, 1)
            go, clear = ctx.get(dut.go), ctx.get(dut.clear_counters)
            await ctx.tick()
            ctx.set(dut.start, 0)
            return go, clear

        # accepted: go at once, busy while the job runs, done after `finished`
        assert await start() == (1, 1)
        ctx.set(dut.running, 1)
        await ctx.tick()
        assert ctx.get(dut.busy) and not ctx.get(dut.done)
        ctx.set(dut.start, 1)               # a start while busy is ignored
        assert not ctx.get(dut.go) and not ctx.get(dut.clear_counters)
        ctx.set(dut.start, 0)
        ctx.set(dut.finished, 1)
        await ctx.tick()
        ctx.set(dut.finished, 0)
        ctx.set(dut.running, 0)
        await ctx.tick()
        assert ctx.get(dut.done) and ctx.get(dut.error) == 0 and not ctx.get(dut.busy)
        # refused by the config check: done at once with its code, no go
        ctx.set(dut.check_error, 5)
        assert await start() == (0, 1)
        assert ctx.get(dut.done) and ctx.get(dut.error) == 5
        ctx.set(dut.check_error, 0)
        # the guard drains: the start waits (busy), then goes once the drain ends
        ctx.set(dut.guard_draining, 1)
        assert await start() == (0, 1)
        assert ctx.get(dut.busy) and not ctx.get(dut.done)
        for _ in range(3):
            assert not ctx.get(dut.go)
            await ctx.tick()
        ctx.set(dut.guard_draining, 0)
        assert ctx.get(dut.go)
        await ctx.tick()
        # a fault ends the job at once: flush, done, the guard's code
        ctx.set(dut.running, 1)
        ctx.set(dut.fault, 1)
        ctx.set(dut.fault_code, 17)
        assert ctx.get(dut.flush)
        await ctx.tick()
        ctx.set(dut.fault, 0)
        ctx.set(dut.running, 0)
        assert ctx.get(dut.done) and ctx.get(dut.error) == 17 and not ctx.get(dut.flush)
        # a timed-out burst still unanswered: refused with BUS_PENDING
        ctx.set(dut.guard_dead, 1)
        assert await start() == (0, 1)
        assert ctx.get(dut.done) and ctx.get(dut.error) == ERROR_CODES["BUS_PENDING"]

    _run(bench)
