# amaranth: UnusedElaboratable=no
"""The sanger / topk slot predictors' own logic (`rtl/predictors/exact.py`), in Amaranth simulation:
KeyUnion's key_needed (the union of the marked keys, ascending, `last` on the highest, under
back-pressure, empty after its scan) and TopKPredictor taking only its job's seq_len rows of
scores (the hang the harness found: the engine is back in collect before its last kept beat)."""

import random

from amaranth.sim import Simulator

from lapa.config import HardwareConfig
from rtl.predictors.exact import KeyUnion, TopKPredictor


def test_key_union_sends_the_union_in_order_under_backpressure():
    dut = KeyUnion(max_seq_len=24)
    rng = random.Random(5)
    jobs = [sorted(rng.sample(range(24), rng.randint(1, 24))) for _ in range(12)] + [[0], [23]]

    async def bench(ctx):
        for keys in jobs:
            marks = keys + rng.sample(keys, min(3, len(keys)))      # repeats, any order
            rng.shuffle(marks)
            for key in marks:
                ctx.set(dut.add, 1)
                ctx.set(dut.key, key)
                await ctx.tick()
            ctx.set(dut.add, 0)
            ctx.set(dut.flush, 1)
            await ctx.tick()
            ctx.set(dut.flush, 0)
            got = []
            for _ in range(200):
                ready = rng.random() < 0.6
                ctx.set(dut.o.ready, ready)
                if ctx.get(dut.o.valid) and ready:
                    got.append((ctx.get(dut.o.payload.key), ctx.get(dut.o.payload.last)))
                await ctx.tick()
                if not ctx.get(dut.scanning) and got:
                    break
            assert got == [(k, int(k == keys[-1])) for k in keys], (keys, got)
            assert not ctx.get(dut.scanning) and not ctx.get(dut.o.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_topk_takes_only_its_jobs_rows():
    """A job of seq_len = 2 rows with a third row's scores waiting: the third is not taken by this
    job (its kept rows are the first two only) and is taken by the next job."""
    hw = HardwareConfig(d_model=32, head_dim=8, max_seq_len=4, n_heads=1, n_kv_heads=1, pea_lanes=4,
                        peb_lanes=4, mac_rows=1, mac_cols=8, av_lanes=8, predictor="topk")
    dut = TopKPredictor(hw)
    slot = dut.slot
    rows = [[5], [3, 9], [7, 1]]        # S[t, s] of C_1 (causal): row 0 one key, rows 1-2 two

    async def bench(ctx):
        ctx.set(dut.config.topk_k, 1)
        ctx.set(slot.kept.ready, 1)
        ctx.set(slot.needed.ready, 1)
        kept = []
        for job, want_rows in ((2, 2), (1, 1)):
            ctx.set(slot.job.seq_len, job)
            ctx.set(slot.job.causal, 1)
            ctx.set(slot.job.last_head, 0)
            ctx.set(slot.start, 1)
            await ctx.tick()
            ctx.set(slot.start, 0)
            done = 0
            for _ in range(400):
                if rows:
                    row = rows[0]
                    ctx.set(slot.scores.valid, 1)
                    ctx.set(slot.scores.payload.score, row[0])
                    ctx.set(slot.scores.payload.key, 0)
                    ctx.set(slot.scores.payload.last, len(row) == 1)
                else:
                    ctx.set(slot.scores.valid, 0)
                if ctx.get(slot.kept.valid):
                    kept.append((ctx.get(slot.kept.payload.key), ctx.get(slot.kept.payload.last)))
                    done += ctx.get(slot.kept.payload.last)
                taken = rows and ctx.get(slot.scores.ready)
                await ctx.tick()
                if taken:
                    rows[0] = rows[0][1:]
                    if not rows[0]:
                        rows.pop(0)
                if done == want_rows and not ctx.get(slot.busy):
                    break
            assert done == want_rows
            if job == 2:
                assert len(rows) == 1 and rows[0] == [7, 1], "the next job's row stays untaken"
        assert kept == [(0, 1), (1, 1), (0, 1)], kept

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
