# amaranth: UnusedElaboratable=no
"""The execution unit's projection pipeline (`rtl/execution/projection.py`) on its own, against
golden: the feed's operand beats (x chunk, weight tile, first / last) in the SPEC tile order
under random MAC stalls, and the back end's rows (requant, RoPE for q / k, v unrotated) under
random input gaps and output back-pressure, corners included (-128 rows, saturating scales,
n = 0, the last table row)."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.intmath import requant
from golden.rope import rope_rotate, rope_table
from lapa.config import HardwareConfig, LapaConfig
from rtl.execution.layouts import KIND_K, KIND_Q, KIND_V
from rtl.execution.projection import ProjectionFeed, ProjectionOutput
from sim.blocks import small_config

# one MAC row and one x chunk per row (the smallest), and three rows / several chunks
SHAPES = [pytest.param(small_config(max_seq_len=4).hw, id="R1-IC1"),
          pytest.param(HardwareConfig(d_model=24, head_dim=24, max_seq_len=6, pea_lanes=8, peb_lanes=8,
                                      mac_rows=3, mac_cols=8, av_lanes=8), id="R3-IC3")]


def _run(dut, bench, cycles=20000):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run_until(cycles * 1e-6)


@pytest.mark.parametrize("hw", SHAPES)
def test_projection_output_rows(hw):
    dut = ProjectionOutput(hw)
    R, JT, dh, L = hw.mac_rows, hw.head_dim // hw.mac_rows, hw.head_dim, hw.max_seq_len
    rng = random.Random(7)
    g = np.random.default_rng(7)
    c, s = rope_table(L, dh, 10000, 3)
    acc_max = 2 ** (hw.mac_array_acc_width - 1)
    jobs = []
    for k in range(40):
        acc = g.integers(-2**14, 2**14, size=dh)
        if k == 1:
            acc[:] = -acc_max                       # most negative accumulator
        elif k == 2:
            acc[:] = 0
        m_, n_ = int(g.integers(1, 65536)), int(g.integers(0, 48))
        if k == 3:
            m_, n_ = 65535, 0                       # saturates both ways
        jobs.append((int(g.integers(0, 3)), int(g.integers(0, L)) if k != 4 else L - 1,
                     k % 3 != 0, m_, n_, acc))
    done = []

    async def bench(ctx):
        for t in range(L):
            ctx.set(dut.rope_w_en, 1)
            ctx.set(dut.rope_w_addr, t)
            ctx.set(dut.rope_w_data, {"c": [int(v) for v in c[t]], "s": [int(v) for v in s[t]]})
            await ctx.tick()
        ctx.set(dut.rope_w_en, 0)
        for kind, row, rope, m_, n_, acc in jobs:
            for port, v in ((dut.kind, kind), (dut.row, row), (dut.rope, int(rope)), (dut.m, m_), (dut.n, n_)):
                ctx.set(port, v)
            sent, got = 0, None
            while got is None:
                valid = sent < JT and rng.random() < 0.7
                ctx.set(dut.i.valid, int(valid))
                if sent < JT:
                    ctx.set(dut.i.payload, [int(v) for v in acc[sent * R:(sent + 1) * R]])
                ready = rng.random() < 0.6
                ctx.set(dut.o.ready, int(ready))
                if valid and ctx.get(dut.i.ready):
                    sent += 1
                if ready and ctx.get(dut.o.valid):
                    assert sent == JT, "a row left before all its beats were in"
                    got = (ctx.get(dut.o.payload.kind), ctx.get(dut.o.payload.row),
                           [int(v) for v in ctx.get(dut.o.payload.data)])
                await ctx.tick()
            ctx.set(dut.i.valid, 0)
            want = requant(acc, m_, n_)
            if rope and kind != KIND_V:
                want = rope_rotate(want[None, :], c[row:row + 1], s[row:row + 1])[0]
            assert got == (kind, row, [int(v) for v in want]), (kind, row, rope, m_, n_)
            done.append(1)

    _run(dut, bench)
    assert len(done) == len(jobs)


@pytest.mark.parametrize("hw", SHAPES)
def test_projection_feed_beats(hw):
    dut = ProjectionFeed(hw)
    C, R, D, dh, L = hw.mac_cols, hw.mac_rows, hw.d_model, hw.head_dim, hw.max_seq_len
    IC, JT = D // C, dh // R
    rng = random.Random(3)
    g = np.random.default_rng(3)
    seq_len = L
    x = g.integers(-128, 128, size=(seq_len, D))
    x[0] = -128
    w = {name: g.integers(-128, 128, size=(D, dh)) for name in ("wq", "wk", "wv")}

    def tile(wm, jt, ic):          # element [r][c] = w[ic*C + c, jt*R + r]
        return [[int(wm[ic * C + cc, jt * R + r]) for cc in range(C)] for r in range(R)]

    checked = []

    async def bench(ctx):
        ctx.set(dut.seq_len, seq_len)
        ctx.set(dut.clear, 1)
        ctx.set(dut.clear_q, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        ctx.set(dut.clear_q, 0)
        beats = {"x": [[int(v) for v in x[t, ic * C:(ic + 1) * C]] for t in range(seq_len) for ic in range(IC)]}
        for name in w:
            beats[name] = [tile(w[name], jt, ic) for jt in range(JT) for ic in range(IC)]
        ctx.set(dut.load, 1)
        ctx.set(dut.load_q, 1)
        pos = {name: 0 for name in beats}
        while not (ctx.get(dut.loaded) and ctx.get(dut.q_loaded)):
            for name, seq in beats.items():
                port = getattr(dut, name)
                v = pos[name] < len(seq) and rng.random() < 0.7
                ctx.set(port.valid, int(v))
                if pos[name] < len(seq):
                    ctx.set(port.payload, seq[pos[name]])
                if v and ctx.get(port.ready):
                    pos[name] += 1
            await ctx.tick()
        assert all(pos[n] == len(beats[n]) for n in beats), "loaded before every beat was in"
        for port in (dut.x, dut.wq, dut.wk, dut.wv):
            ctx.set(port.valid, 0)
        ctx.set(dut.load, 0)
        ctx.set(dut.load_q, 0)
        for kind, row in [(KIND_Q, 0), (KIND_K, seq_len - 1), (KIND_V, 1 % seq_len), (KIND_Q, seq_len - 1)]:
            name = {KIND_Q: "wq", KIND_K: "wk", KIND_V: "wv"}[kind]
            want = [(beats["x"][row * IC + ic], tile(w[name], jt, ic), ic == 0, ic == IC - 1)
                    for jt in range(JT) for ic in range(IC)]
            ctx.set(dut.start, 1)
            ctx.set(dut.start_kind, kind)
            ctx.set(dut.start_row, row)
            await ctx.tick()
            ctx.set(dut.start, 0)
            got, pending = [], None
            for _ in range(8 * len(want) + 8):
                if pending is not None:      # operands a cycle after the beat was issued
                    got.append((list(ctx.get(dut.x_data)), [list(r) for r in ctx.get(dut.w_data)],) + pending)
                    pending = None
                adv = rng.random() < 0.6
                ctx.set(dut.adv, int(adv))
                if ctx.get(dut.beat):
                    pending = (bool(ctx.get(dut.first)), bool(ctx.get(dut.last)))
                await ctx.tick()
            ctx.set(dut.adv, 0)
            assert [(a, b) for a, b, _, _ in got] == [(a, b) for a, b, _, _ in want], (kind, row)
            assert [(f, la) for _, _, f, la in got] == [(f, la) for _, _, f, la in want], (kind, row)
            assert ctx.get(dut.kind) == kind and ctx.get(dut.row) == row
            checked.append(kind)

    _run(dut, bench)
    assert len(checked) == 4


def test_projection_output_shape_from_config():
    hw = LapaConfig().hw
    dut = ProjectionOutput(hw)
    assert dut.jt_n * dut.lanes == hw.head_dim
    assert len(dut.o.payload.data) == hw.head_dim
