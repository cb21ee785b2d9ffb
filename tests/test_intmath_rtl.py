"""rtl.common.intmath against golden.intmath, exhaustively on small ranges (Amaranth simulator)."""

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from golden.intmath import rshr as g_rshr
from golden.intmath import sat8 as g_sat8
from rtl.common.intmath import rshr, sat8


def test_rshr_sat8_runtime_shift():
    m = Module()
    v = Signal(signed(14))
    n = Signal(range(8))
    out_var = Signal(signed(8))
    out_const = Signal(signed(8))
    m.d.comb += [out_var.eq(sat8(rshr(v, n))), out_const.eq(sat8(rshr(v, 3)))]
    sim = Simulator(m)
    values = list(range(-8192, 8192, 37)) + [-8192, 8191, -1, 0, 1, 4, -4, 12, -12]

    async def bench(ctx):
        for x in values:
            ctx.set(v, x)
            for sh in range(8):
                ctx.set(n, sh)
                assert ctx.get(out_var) == int(g_sat8(g_rshr(np.int64(x), sh))), (x, sh)
            assert ctx.get(out_const) == int(g_sat8(g_rshr(np.int64(x), 3))), x

    sim.add_testbench(bench)
    sim.run()
