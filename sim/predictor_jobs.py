"""Shared cocotb helpers of the predictor-block testbenches (sanger, topk): job start/finish and
the comparison of a `kept` stream with golden per-row key lists."""

import json
import os

from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from rtl.execution.kv_control import kv_request_layout
from sim.streams import unpack

__all__ = ["pulse_start", "wait_idle", "check_kept", "finish_job", "job_cycles", "write_cycles"]


async def pulse_start(dut):
    """One-cycle `start` (set after a falling edge, as the stream drivers do); returns the time."""
    await FallingEdge(dut.clk)
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    return get_sim_time("ns")


def job_cycles(dut, t0_ns, period_ns=10):
    """Clock cycles since `t0_ns` (the job's start): a figure for benchmarks, never asserted."""
    return round((get_sim_time("ns") - t0_ns) / period_ns)


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


async def finish_job(dut, sink, t0_ns, ctx):
    """The end of a job whose kept lists `check_kept` has compared: `busy` falls, and no kept
    beat is left over; returns the job's cycles."""
    await wait_idle(dut)
    assert not sink.items, f"{ctx}: extra kept beats {list(sink.items)}"
    return job_cycles(dut, t0_ns)


def write_cycles(record):
    """The `cycles` tests' figures, as JSON to the file CYCLES_OUT names."""
    with open(os.environ["CYCLES_OUT"], "w") as f:
        json.dump(record, f)
