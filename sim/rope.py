"""cocotb testbench of the RoPE rotator against `golden.rope`, every output lane of every row."""

import os

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data

from golden.rope import rope_rotate, rope_table
from rtl.common.rope import rope_beat_layout
from sim.blocks import bench_block
from sim.streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock, unpack


class RopeTB:
    def __init__(self, dut, gap, backpressure):
        self.dut = dut
        self.dh = bench_block("rope")[1].head_dim
        self.rng = make_rng(dut._log)
        self.np_rng = np.random.default_rng(self.rng.getrandbits(32))
        self.i_layout = rope_beat_layout(self.dh)
        self.o_layout = data.ArrayLayout(signed(8), self.dh)
        self.src = StreamSource(dut, "i", self.rng, gap=gap)
        self.sink = StreamSink(dut, "o", self.rng, backpressure=backpressure)

    async def batch(self, a, c, s, rope):
        """Rows a [n, dh] with table rows c, s [n, dh/2]; compare every lane of every row, in order."""
        self.dut.rope_en.value = int(rope)
        for k in range(len(a)):
            self.src.send(pack(self.i_layout, {"a": [int(v) for v in a[k]], "c": [int(v) for v in c[k]],
                                               "s": [int(v) for v in s[k]]}))
        got = await self.sink.get(len(a))
        want = rope_rotate(a, c, s) if rope else a.astype(np.int8)
        for k, bits in enumerate(got):
            out = [int(v) for v in unpack(self.o_layout, bits)]
            assert out == [int(v) for v in want[k]], \
                f"rope={rope} row {k} a={list(a[k])}: got {out}, want {list(want[k])}"


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = RopeTB(dut, gap, backpressure)
    await reset(dut)
    g, dh = tb.np_rng, tb.dh
    half = dh // 2
    n = 24
    for case in range(10 * int(os.environ.get('REPEAT', '1'))):   # REPEAT: the slow run's multiplier
        a = g.integers(-128, 128, size=(n, dh))
        if case == 1:
            a[:] = -128
        elif case == 2:
            a[:] = 0
        elif case == 3:
            a[:] = g.choice([-128, 127], size=(n, dh))
        if case % 10 < 6:
            base = int(g.choice([1, 2, 10000, 500000, 2**20]))
            pos0 = int(g.choice([0, 1, 777, 2**16]))
            c, s = rope_table(n, dh, base, pos0)
        else:
            # every int16 table value, including -32768 and the extremes the rounding can reach
            c = g.integers(-32768, 32768, size=(n, half)).astype(np.int16)
            s = g.integers(-32768, 32768, size=(n, half)).astype(np.int16)
            c[0], s[0] = -32768, -32768
            c[1], s[1] = 32767, -32768
        await tb.batch(a, c, s, rope=1)
        await tb.batch(a, c, s, rope=0)


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.4, 0.5)])
async def random_and_corners(dut, stalls):
    """Golden tables (several bases and pos0) and raw int16 extremes, rope on and off, rows of
    zeros, -128 and +-extremes; at full rate, then with source gaps and sink back-pressure."""
    await _run(dut, *stalls)
