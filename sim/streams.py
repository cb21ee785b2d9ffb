"""cocotb-side helpers for Amaranth designs: clock/reset, layouts, and `lib.stream` drivers.

Timing discipline (avoids the read-at-RisingEdge race): every driver changes its inputs right
after a falling edge, then waits for ReadOnly to see the settled handshake; a transfer counts
when valid and ready are both high then, and it takes place at the next rising edge.
Sources insert random gaps, sinks random back-pressure; both print the seed they use.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

__all__ = ["load_config", "make_rng", "start_clock", "reset", "pack", "unpack", "key_beats",
           "StreamSource", "StreamSink", "wait_cycles", "stream_bench"]


def load_config():
    """The LapaConfig the pytest side passed in LAPA_CONFIG."""
    from lapa.config import config_from_dict

    return config_from_dict(json.loads(os.environ["LAPA_CONFIG"]))


def make_rng(log=None, salt=0):
    """A random.Random seeded from cocotb's seed (printed, so a failure can be replayed)."""
    seed = int(os.environ.get("LAPA_SEED", cocotb.RANDOM_SEED)) + salt
    if log is not None:
        log.info("stimulus seed %d", seed)
    return random.Random(seed)


async def start_clock(dut, period_ns=10):
    """Start `clk` with `rst` already asserted, so bus models created next see a defined reset
    (Icarus leaves an undriven input X, which they would sample); `reset()` releases it."""
    dut.rst.value = 1
    cocotb.start_soon(Clock(dut.clk, period_ns, unit="ns").start())


async def reset(dut, cycles=2):
    """Synchronous active-high reset of Amaranth's `sync` domain."""
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def wait_cycles(dut, n):
    for _ in range(n):
        await RisingEdge(dut.clk)


def pack(shape, value) -> int:
    """Bits of `value` laid out by an Amaranth shape (a lib.data layout, or a plain signed/unsigned)."""
    from amaranth.hdl import Const, Shape
    from amaranth.lib import data

    if isinstance(shape, data.Layout):
        return shape.const(value).as_bits()
    sh = Shape.cast(shape)
    value = int(value)
    lo, hi = (-(1 << (sh.width - 1)), (1 << (sh.width - 1)) - 1) if sh.signed else (0, (1 << sh.width) - 1)
    if not lo <= value <= hi:
        raise ValueError(f"pack: {value} does not fit {sh!r} ({lo}..{hi})")
    return Const(value, sh).value & ((1 << sh.width) - 1)


def key_beats(layout, keys):
    """A key list as `kv_request_layout` beats: each key, `last` on the final one."""
    keys = [int(k) for k in keys]
    return [pack(layout, {"key": k, "last": int(j == len(keys) - 1)}) for j, k in enumerate(keys)]


def unpack(shape, bits: int):
    """Inverse of `pack`: a data.Const view for layouts, a Python int for plain shapes."""
    from amaranth.hdl import Shape
    from amaranth.lib import data

    if isinstance(shape, data.Layout):
        return shape.from_bits(bits)
    sh = Shape.cast(shape)
    bits &= (1 << sh.width) - 1
    if sh.signed and bits >> (sh.width - 1):
        bits -= 1 << sh.width
    return bits


def _port(dut, prefix, member):
    return getattr(dut, f"{prefix}__{member}")


class _StreamPort:
    """The three signals of an Amaranth stream port, the clock and a random source."""

    def __init__(self, dut, prefix, rng, seed):
        self.valid = _port(dut, prefix, "valid")
        self.payload = _port(dut, prefix, "payload")
        self.ready = _port(dut, prefix, "ready")
        self.clk = dut.clk
        self.rng = rng or random.Random(seed)

    def stop(self):
        """End the driver's per-cycle task (long runs that no longer need it)."""
        self._task.cancel()


class StreamSource(_StreamPort):
    """Drives an Amaranth stream input `<prefix>__{valid,payload,ready}` from a queue of ints."""

    def __init__(self, dut, prefix, rng=None, gap=0.0):
        super().__init__(dut, prefix, rng, 0)
        self.gap = gap
        self.queue = deque()
        self.sent = 0
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send(self, bits: int):
        self.queue.append(int(bits))

    def send_all(self, items):
        for b in items:
            self.send(b)

    @property
    def idle(self):
        return not self.queue

    async def _run(self):
        holding = False
        while True:
            await FallingEdge(self.clk)
            if not holding and self.queue and self.rng.random() >= self.gap:
                self.payload.value = self.queue[0]
                holding = True
            self.valid.value = int(holding)
            await ReadOnly()
            if holding and int(self.ready.value):
                self.queue.popleft()
                self.sent += 1
                holding = False

    async def wait_idle(self, timeout=100000):
        """Wait until every queued item has been accepted."""
        for _ in range(timeout):
            if not self.queue:
                return
            await RisingEdge(self.clk)
        raise TimeoutError(f"source still holds {len(self.queue)} items after {timeout} cycles")


class StreamSink(_StreamPort):
    """Accepts an Amaranth stream output `<prefix>__{valid,payload,ready}` with random back-pressure."""

    def __init__(self, dut, prefix, rng=None, backpressure=0.0):
        super().__init__(dut, prefix, rng, 1)
        self.backpressure = backpressure
        self.items = deque()
        self.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            await FallingEdge(self.clk)
            take = self.rng.random() >= self.backpressure
            self.ready.value = int(take)
            await ReadOnly()
            if take and int(self.valid.value):
                self.items.append(int(self.payload.value))

    async def get(self, n, timeout=100000):
        """The next n payloads (raw ints), waiting at most `timeout` cycles for them."""
        for _ in range(timeout):
            if len(self.items) >= n:
                return [self.items.popleft() for _ in range(n)]
            await RisingEdge(self.clk)
        raise TimeoutError(f"expected {n} items, got {len(self.items)} after {timeout} cycles")


def stream_pairs(dut, rng, prefixes, stall=0.0):
    """For each prefix p, a source on input `p_i` and a sink on output `p_o` (both stalling
    with probability `stall`): the drivers of a harness holding several one-in, one-out blocks."""
    return [(StreamSource(dut, f"{p}_i", rng, gap=stall), StreamSink(dut, f"{p}_o", rng, backpressure=stall))
            for p in prefixes]


async def stream_bench(dut, gap=0.0, backpressure=0.0, source="i", sink="o"):
    """Clock, a seeded rng, a source on stream input `source`, a sink on output `sink`, reset:
    the usual opening of a one-in, one-out block testbench. Returns (rng, source, sink)."""
    await start_clock(dut)
    rng = make_rng(dut._log)
    src = StreamSource(dut, source, rng, gap=gap)
    snk = StreamSink(dut, sink, rng, backpressure=backpressure)
    await reset(dut)
    return rng, src, snk
