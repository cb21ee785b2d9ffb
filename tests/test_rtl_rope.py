# amaranth: UnusedElaboratable=no
"""RoPE (SPEC 3a): rotator RTL against golden.rope under back-pressure; the loaded table."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.rope import rope_table
from rtl.common.rope import RopeRotator, RopeTable
from sim.blocks import run_block, small_config

# head_dim: the smallest (one bus word) and a non-power of two
SHAPES = [pytest.param(small_config(), id="dh8"),
          pytest.param(small_config(d_model=24, head_dim=24), id="dh24"),
          pytest.param(small_config(d_model=64, head_dim=64), id="dh64", marks=pytest.mark.slow)]
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


@pytest.mark.parametrize("repeat", LONG)
@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_rope(simulator, cfg, repeat):
    run_block("rope", cfg, simulator=simulator, env={"REPEAT": repeat})


def test_rope_table_load_and_read():
    """The host writes golden.rope.rope_table row by row; every row reads back a cycle later."""
    dh, n = 8, 12
    c, s = rope_table(n, dh, 10000, 5)
    dut = RopeTable(head_dim=dh, max_seq_len=16)
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def bench(ctx):
        for t in range(n):
            ctx.set(dut.w_en, 1)
            ctx.set(dut.w_addr, t)
            ctx.set(dut.w_data, {"c": [int(v) for v in c[t]], "s": [int(v) for v in s[t]]})
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        for t in reversed(range(n)):
            ctx.set(dut.r_addr, t)
            await ctx.tick()
            row = ctx.get(dut.r_data)
            assert [int(v) for v in row.c] == list(c[t]) and [int(v) for v in row.s] == list(s[t]), t

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("kw,name", [({"head_dim": 7}, "head_dim"), ({"head_dim": 0}, "head_dim")])
def test_rope_rotator_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        RopeRotator(**kw)


def test_rope_table_refuses():
    with pytest.raises(ValueError, match="max_seq_len"):
        RopeTable(head_dim=8, max_seq_len=0)
