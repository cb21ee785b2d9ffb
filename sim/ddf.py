"""cocotb testbench of the DDF threshold unit against `golden.ddf.ddf_filter`, row by row."""

import os

import cocotb
import numpy as np

from golden.ddf import ddf_filter
from rtl.speculation.ddf import candidate_layout
from sim.blocks import bench_block
from sim.streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock, unpack


class DDFTB:
    def __init__(self, dut, gap, backpressure):
        self.dut = dut
        blk = bench_block("ddf")[1]
        self.max_len, self.idx_width, self.score_width = blk.max_len, blk.idx_width, blk.score_width
        self.rng = make_rng(dut._log)
        self.np_rng = np.random.default_rng(self.rng.getrandbits(32))
        self.layout = candidate_layout(self.idx_width, self.score_width)
        self.src = StreamSource(dut, "i", self.rng, gap=gap)
        self.sink = StreamSink(dut, "o", self.rng, backpressure=backpressure)

    def set_config(self, mode, eta, eta_frac_bits, margin):
        self.dut.ddf_mode.value = int(mode == "margin")
        self.dut.eta.value = eta
        self.dut.eta_frac_bits.value = eta_frac_bits
        self.dut.margin.value = margin

    async def rows(self, rows, mode, eta=0, eta_frac_bits=8, margin=0):
        """Each row: (indices, scores). Send them all, then compare the survivors row by row."""
        self.set_config(mode, eta, eta_frac_bits, margin)
        for idx, scores in rows:
            for k, (s, a) in enumerate(zip(idx, scores)):
                self.src.send(pack(self.layout, {"idx": int(s), "score": int(a), "last": int(k == len(idx) - 1)}))
        for n, (idx, scores) in enumerate(rows):
            keep = ddf_filter(np.asarray(scores)[None, :], np.ones((1, len(idx)), bool), mode, eta,
                              eta_frac_bits, margin)[0]
            want = [(int(s), int(a)) for s, a, k in zip(idx, scores, keep) if k]
            got = [unpack(self.layout, b) for b in await self.sink.get(len(want))]
            seen = [(int(b.idx), int(b.score)) for b in got]
            lasts = [int(b.last) for b in got]
            ctx = f"row {n} {mode} eta={eta}/{eta_frac_bits} margin={margin} scores={list(scores)}"
            assert seen == want, f"{ctx}: got {seen}, want {want}"
            assert lasts == [0] * (len(want) - 1) + [1], f"{ctx}: last flags {lasts}"
        assert not self.sink.items, f"extra survivors {list(self.sink.items)}"


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = DDFTB(dut, gap, backpressure)
    await reset(dut)
    g, n_max = tb.np_rng, tb.max_len
    lim = 1 << (tb.score_width - 1)

    def row(n, lo=-lim, hi=lim):
        idx = np.sort(g.choice(n_max, size=n, replace=False))
        return idx, g.integers(lo, hi, size=n)

    def fixed(scores):
        """A corner row of keys 0, 1, ... with these scores, cut to max_len keys."""
        n = min(len(scores), n_max)
        return np.arange(n), np.asarray(scores)[:n]

    repeat = int(os.environ.get("REPEAT", "1"))   # the slow run's multiplier of the random cases
    for efb in (8, 1, 5) * repeat:
        full = 1 << efb
        for eta in (0, full, full // 2, int(g.integers(0, full + 1))):
            rows = [row(int(g.integers(1, n_max + 1))) for _ in range(8)]
            rows += [row(1), row(n_max), row(n_max, -3, 3)]
            rows += [fixed(np.full(5, -lim)), fixed(np.full(n_max, lim - 1)), fixed([lim - 1, -lim, 0])]
            await tb.rows(rows, "range", eta, efb)
    margins = [0, 1, 2**31 - 1, 40] + [int(g.integers(0, lim)) for _ in range(repeat)]
    for margin in margins:
        rows = [row(int(g.integers(1, n_max + 1))) for _ in range(8)]
        rows += [row(1), row(n_max, -3, 3), fixed(np.full(4, 7)), fixed([lim - 1, -lim, 0])]
        await tb.rows(rows, "margin", margin=margin)


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5)])
async def random_and_corners(dut, stalls):
    """Both DDF modes; eta 0, 1 and between with three eta_frac_bits; margins 0, 1, 2^31-1;
    single candidates, full rows, all-equal and extreme scores; with and without stalls."""
    await _run(dut, *stalls)
