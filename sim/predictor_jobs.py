"""Shared cocotb helpers of the predictor-block testbenches (sanger, topk): job start/finish and
the comparison of a `kept` stream with golden per-row key lists."""

from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from rtl.kv_control import kv_request_layout
from sim.streams import unpack

__all__ = ["pulse_start", "wait_idle", "check_kept"]


async def pulse_start(dut):
    """One-cycle `start` (set after a falling edge, as the stream drivers do)."""
    await FallingEdge(dut.clk)
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0


async def wait_idle(dut, timeout=200000):
    """Until `busy` is low (the job's last kept beat has gone out); returns after a falling edge,
    where inputs may be set."""
    for _ in range(timeout):
        await ReadOnly()
        if not int(dut.busy.value):
            await FallingEdge(dut.clk)
            return
        await RisingEdge(dut.clk)
    raise TimeoutError(f"busy still high after {timeout} cycles")


async def check_kept(sink, idx_width, want, ctx):
    """Every row's kept keys and `last` flags from `sink` equal `want` (list of key arrays)."""
    layout = kv_request_layout(idx_width)
    for t, keys in enumerate(want):
        keys = [int(k) for k in keys]
        got = [unpack(layout, b) for b in await sink.get(len(keys))]
        seen = [int(g.key) for g in got]
        lasts = [int(g.last) for g in got]
        assert seen == keys, f"{ctx} row {t}: kept {seen}, want {keys}"
        assert lasts == [0] * (len(keys) - 1) + [1], f"{ctx} row {t}: last flags {lasts}"
