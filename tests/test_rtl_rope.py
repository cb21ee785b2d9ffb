# amaranth: UnusedElaboratable=no
"""RoPE (SPEC 3a): rotator RTL against golden.rope under back-pressure; the loaded table."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.rope import rope_table
from rtl.generate import to_verilog
from rtl.rope import RopeRotator, RopeTable
from sim.runner import run_cocotb

HEAD_DIM = 8
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


@pytest.mark.parametrize("repeat", LONG)
def test_rtl_rope(simulator, repeat):
    run_cocotb(to_verilog(RopeRotator(head_dim=HEAD_DIM), "rope"), "rope", "sim.rope",
               simulator=simulator, env={"REPEAT": repeat, "HEAD_DIM": HEAD_DIM})


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
