"""cocotb testbench of the Sanger predictor block against `golden.sanger.sanger_kept`, job by job."""

import os
from types import SimpleNamespace

import cocotb
import numpy as np

from golden.sanger import sanger_kept
from rtl.predictors.sanger import row_layout
from sim.predictor_jobs import check_kept, finish_job, pulse_start, write_cycles
from sim.blocks import bench_block
from sim.streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock


class SangerTB:
    def __init__(self, dut, gap, backpressure):
        self.dut = dut
        blk = bench_block("sanger")[1]
        self.dh, self.max_len, self.idx_width = blk.head_dim, blk.max_len, blk.idx_width
        self.rng = make_rng(dut._log)
        self.g = np.random.default_rng(self.rng.getrandbits(32))
        self.layout = row_layout(self.idx_width, self.dh)
        self.k_src = StreamSource(dut, "k", self.rng, gap=gap)
        self.q_src = StreamSource(dut, "q", self.rng, gap=gap)
        self.sink = StreamSink(dut, "kept", self.rng, backpressure=backpressure)
        dut.start.value = 0

    def rows(self, a):
        return [pack(self.layout, {"row": t, "data": [int(v) for v in r]}) for t, r in enumerate(a)]

    async def job(self, q, k, causal, arith, first_head=True):
        """One query head; `k` is sent only on a `first_head` job (the buffer keeps it)."""
        d = self.dut
        d.seq_len.value, d.causal.value, d.first_head.value = len(q), int(causal), int(first_head)
        d.sg_mult.value, d.sg_shift.value = arith.sg_mult, arith.sg_shift
        d.sm_frac_bits.value, d.sg_thresh.value = arith.sm_frac_bits, arith.sg_thresh
        t0 = await pulse_start(d)
        if first_head:
            self.k_src.send_all(self.rows(k))
        self.q_src.send_all(self.rows(q))
        ctx = f"L={len(q)} causal={causal} sg=({arith.sg_mult},{arith.sg_shift},{arith.sm_frac_bits},{arith.sg_thresh})"
        await check_kept(self.sink, self.idx_width, sanger_kept(q, k, causal, arith), ctx)
        return await finish_job(d, self.sink, t0, ctx)


def _arith(g, thresh=None):
    return SimpleNamespace(sg_mult=int(g.integers(1, 65536)), sg_shift=int(g.integers(0, 20)),
                           sm_frac_bits=int(g.integers(1, 9)),
                           sg_thresh=int(g.integers(0, 65536)) if thresh is None else thresh)


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = SangerTB(dut, gap, backpressure)
    await reset(dut)
    g, dh, n = tb.g, tb.dh, tb.max_len
    typical = SimpleNamespace(sg_mult=256, sg_shift=8, sm_frac_bits=6, sg_thresh=131)
    flat = SimpleNamespace(sg_mult=1, sg_shift=47, sm_frac_bits=8, sg_thresh=0)   # u = 0: E ties
    rand = lambda L: g.integers(-128, 128, size=(L, dh))
    for rep in range(int(os.environ.get("REPEAT", "1"))):   # REPEAT: the slow run's multiplier
        for causal in (1, 0):
            q, k = rand(n), rand(n)
            await tb.job(q, k, causal, typical)                        # maximum length
            await tb.job(rand(n), k, causal, _arith(g), first_head=False)   # next head, same k
            for thresh in (0, 65535, int(g.integers(1, 4000))):
                L = int(g.integers(1, n + 1))
                await tb.job(rand(L), rand(L), causal, _arith(g, thresh))
            await tb.job(rand(1), rand(1), causal, _arith(g))          # one token
            await tb.job(np.zeros((n, dh), int), rand(n), causal, typical)     # all scores 0: all tie
            await tb.job(np.full((n, dh), -128), np.full((n, dh), -128), causal, typical)  # q4 = k4 = -8
            # small scores with a coarse scale: non-maximum keys with E = 32768 (only `top` keeps them)
            await tb.job(g.integers(-16, 16, size=(n, dh)), rand(n), causal,
                         SimpleNamespace(sg_mult=1, sg_shift=30, sm_frac_bits=4, sg_thresh=65535))
            await tb.job(rand(n), rand(n), causal, flat)
            k = rand(n)
            k[3 % n] = k[0]                                            # equal keys: tied maxima
            await tb.job(rand(n), k, causal, SimpleNamespace(sg_mult=300, sg_shift=4, sm_frac_bits=5,
                                                             sg_thresh=20000))


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5)])
async def jobs(dut, stalls):
    """Causal and encoder jobs: maximum length, one token, a second head on the kept k buffer,
    sg_thresh 0 / 65535 / random, zero and -128 rows, tied maxima, scales where non-maximum
    keys reach E = 32768; at full rate, then with source gaps and sink back-pressure."""
    await _run(dut, *stalls)


@cocotb.test(skip="CYCLES_OUT" not in os.environ)
async def cycles(dut):
    """Figures, not a check (sim.predictor_cycles): one maximum-length causal and one encoder job
    at full rate on random int8 q / k (still compared with golden), cycles written to CYCLES_OUT."""
    await start_clock(dut)
    tb = SangerTB(dut, 0.0, 0.0)
    await reset(dut)
    typical = SimpleNamespace(sg_mult=256, sg_shift=8, sm_frac_bits=6, sg_thresh=131)
    rand = lambda: tb.g.integers(-128, 128, size=(tb.max_len, tb.dh))
    write_cycles({f"causal={c}": await tb.job(rand(), rand(), c, typical) for c in (1, 0)})
