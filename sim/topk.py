"""cocotb testbench of the top-k engine against `golden.topk.topk_kept`, job by job."""

import os

import cocotb
import numpy as np

from golden.topk import topk_kept
from rtl.predictors.topk import score_layout
from sim.predictor_jobs import check_kept, finish_job, pulse_start, write_cycles
from sim.blocks import bench_block
from sim.streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock


class TopKTB:
    def __init__(self, dut, gap, backpressure):
        self.dut = dut
        blk = bench_block("topk")[1]
        self.max_len, self.score_width, self.idx_width = blk.max_len, blk.score_width, blk.idx_width
        self.rng = make_rng(dut._log)
        self.g = np.random.default_rng(self.rng.getrandbits(32))
        self.layout = score_layout(self.idx_width, self.score_width)
        self.src = StreamSource(dut, "scores", self.rng, gap=gap)
        self.sink = StreamSink(dut, "kept", self.rng, backpressure=backpressure)
        dut.start.value = 0

    async def job(self, rows, topk_k, ctx=""):
        """One head: `rows[t]` the scores of C_1[t] (keys 0..len-1)."""
        d = self.dut
        d.seq_len.value, d.topk_k.value = len(rows), topk_k
        t0 = await pulse_start(d)
        for t, row in enumerate(rows):
            self.src.send_all(pack(self.layout, {"row": t, "key": s, "score": int(v), "last": int(s == len(row) - 1)})
                              for s, v in enumerate(row))
        ctx = f"{ctx} L={len(rows)} topk_k={topk_k}"
        await check_kept(self.sink, self.idx_width, topk_kept(rows, topk_k), ctx)
        return await finish_job(d, self.sink, t0, ctx)


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = TopKTB(dut, gap, backpressure)
    await reset(dut)
    g, n = tb.g, tb.max_len
    lo, hi = -(1 << (tb.score_width - 1)), (1 << (tb.score_width - 1))

    def rows(L, causal, low=lo, high=hi):
        return [g.integers(low, high, size=(t + 1 if causal else L)) for t in range(L)]

    for rep in range(int(os.environ.get("REPEAT", "1"))):   # REPEAT: the slow run's multiplier
        for causal in (1, 0):
            for k in (1, 2, n // 2, n - 1, n, 65536, int(g.integers(1, n + 1))):
                await tb.job(rows(n, causal), k, f"causal={causal}")                # maximum length
            await tb.job(rows(int(g.integers(1, n + 1)), causal, -3, 3), 3, "ties")    # many ties
            await tb.job([np.zeros(t + 1 if causal else n, int) for t in range(n)], 2, "zeros")
            await tb.job([np.full(t + 1 if causal else n, lo) for t in range(n)], 3, "all minimum")
            ext = [g.choice([lo, hi - 1, 0, -1], size=(t + 1 if causal else n)) for t in range(n)]
            await tb.job(ext, int(g.integers(1, n)), "extremes")
            await tb.job(rows(1, causal), 1, "one token")
            mid = rows(int(g.integers(2, n + 1)), causal, max(lo, -2**15), min(hi, 2**15))
            await tb.job(mid, int(g.integers(1, 5)))


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5)])
async def jobs(dut, stalls):
    """Causal and encoder rows: topk_k 1, 2, L/2, L-1, L, 65536 and random at maximum length;
    many ties, all zeros, all -2^(W-1), extremes, one token; at full rate, then with source
    gaps and sink back-pressure."""
    await _run(dut, *stalls)


@cocotb.test(skip="CYCLES_OUT" not in os.environ)
async def cycles(dut):
    """Figures, not a check (sim.predictor_cycles): maximum-length causal and encoder jobs at full
    rate, random scores, topk_k = L/8 (still compared with golden), cycles written to CYCLES_OUT."""
    await start_clock(dut)
    tb = TopKTB(dut, 0.0, 0.0)
    await reset(dut)
    n, lim = tb.max_len, 1 << (tb.score_width - 1)
    rows = lambda c: [tb.g.integers(-lim, lim, size=(t + 1 if c else n)) for t in range(n)]
    write_cycles({f"causal={c}": await tb.job(rows(c), max(1, n // 8)) for c in (1, 0)})
