"""cocotb testbench of the requant unit against `golden.intmath.requant`, lane by lane."""

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data

from golden.intmath import requant
from sim.blocks import bench_block
from sim.streams import pack, stream_bench, unpack


class RequantTB:
    def __init__(self, dut, rng, src, sink):
        self.dut, self.rng, self.src, self.sink = dut, rng, src, sink
        blk = bench_block("requant")[1]
        self.lanes, self.acc_width = blk.lanes, blk.acc_width
        self.i_layout = data.ArrayLayout(signed(self.acc_width), self.lanes)
        self.o_layout = data.ArrayLayout(signed(8), self.lanes)

    async def batch(self, accs, m, n):
        """Hold (m, n) while a batch of accumulator vectors flows through; compare every lane."""
        self.dut.m.value, self.dut.n.value = m, n
        for row in accs:
            self.src.send(pack(self.i_layout, [int(v) for v in row]))
        got = await self.sink.get(len(accs))
        want = requant(np.asarray(accs, dtype=np.int64), m, n)
        for k, bits in enumerate(got):
            out = [int(v) for v in unpack(self.o_layout, bits)]
            assert out == list(want[k]), f"m={m} n={n} acc={list(accs[k])}: got {out}, want {list(want[k])}"


async def _run(dut, gap, backpressure):
    tb = RequantTB(dut, *await stream_bench(dut, gap, backpressure))
    lim = 1 << (tb.acc_width - 1)
    rng = tb.rng
    corners = [-lim, lim - 1, 0, 1, -1, 127, -128, 128, -129]
    cases = [(1, 0), (65535, 0), (65535, 47), (1, 47), (1, 1), (3, 2)]
    cases += [(rng.randint(1, 65535), rng.randint(0, 47)) for _ in range(10)]
    for m, n in cases:
        accs = [[rng.choice(corners) if rng.random() < 0.3 else rng.randint(-lim, lim - 1)
                 for _ in range(tb.lanes)] for _ in range(12)]
        # values right around the rounding half and the saturation points of this (m, n)
        for target in (127, 128, -128, -129, 0):
            base = (target << n) // m
            accs.append([max(-lim, min(lim - 1, base + rng.randint(-2, 2))) for _ in range(tb.lanes)])
        await tb.batch(accs, m, n)


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.4, 0.5)])
async def random_and_corners(dut, stalls):
    """Random accumulators, both saturation ends, rounding edges, extreme m and n;
    at full rate, then with random source gaps and sink back-pressure."""
    await _run(dut, *stalls)
