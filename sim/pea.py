"""cocotb testbench of PEA against `golden.pea.pea_project`, every lane of every output beat."""

import os

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data

from golden.loe import lo_encode, lo_value
from golden.pea import pea_project
from rtl.speculation.pea import pea_beat_layout
from sim.blocks import bench_block
from sim.streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock, unpack

LO_MODES = (("floor", 0), ("round", 0), ("floor", 1), ("round", 1))


def code_dicts(codes):
    """golden LOCode arrays (one row of weights) -> a list of `rtl.speculation.loe.LOCode` field dicts."""
    return [{"zero": int(z), "neg": int(s < 0), "e": int(e), "m": int(mm)}
            for s, z, e, mm in zip(codes.sign, codes.zero, codes.e, codes.m)]


class PEATB:
    def __init__(self, dut, gap, backpressure):
        self.dut = dut
        cfg, blk = bench_block("pea")
        self.lanes, self.d = blk.lanes, blk.d_model
        self.cols = cfg.hw.head_dim   # head_dim / lanes groups per token, as the projector runs them
        self.rng = make_rng(dut._log)
        self.np_rng = np.random.default_rng(self.rng.getrandbits(32))
        self.i_layout = pea_beat_layout(self.lanes)
        self.o_layout = data.ArrayLayout(signed(8), self.lanes)
        self.src = StreamSource(dut, "i", self.rng, gap=gap)
        self.sink = StreamSink(dut, "o", self.rng, backpressure=backpressure)

    async def project(self, x, w, mode, mant, sh):
        """q_hat = PEA(x [T, D], LO(w [D, groups*lanes])) one lane group at a time; check every lane."""
        self.dut.sh.value = sh
        codes = lo_encode(w, mode, mant)
        groups = w.shape[1] // self.lanes
        rows = [code_dicts(type(codes)(*(f[i] for f in codes))) for i in range(self.d)]
        for t in range(len(x)):
            for g in range(groups):
                for i in range(self.d):
                    self.src.send(pack(self.i_layout, {
                        "x": int(x[t, i]), "w": rows[i][g * self.lanes:(g + 1) * self.lanes],
                        "last": int(i == self.d - 1)}))
        got = await self.sink.get(len(x) * groups)
        want = pea_project(x, lo_value(codes), sh)
        for n, bits in enumerate(got):
            t, g = divmod(n, groups)
            out = [int(v) for v in unpack(self.o_layout, bits)]
            ref = [int(v) for v in want[t, g * self.lanes:(g + 1) * self.lanes]]
            assert out == ref, f"{mode}/{mant} sh={sh} token {t} group {g}: got {out}, want {ref}"


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = PEATB(dut, gap, backpressure)
    await reset(dut)
    g, d, lanes = tb.np_rng, tb.d, tb.lanes
    cols = tb.cols
    for case in range(12 * int(os.environ.get('REPEAT', '1'))):   # REPEAT: the slow run's multiplier
        mode, mant = LO_MODES[case % 4]
        x = g.integers(-128, 128, size=(6, d))
        w = g.integers(-128, 128, size=(d, cols))
        sh = int(g.integers(0, 32))
        if case == 0:
            x[:], w[:], sh = -128, -128, 0      # the largest positive sum: saturates at 127
        elif case == 1:
            x[:], w[:] = 0, 0                   # zeros
        elif case == 2:
            x[:], w[:], sh = -128, 127, 31      # the largest negative sum, widest shift
        elif case == 3:
            x[0], w[:, 0] = 0, 0                # a zero row and a zero column among random ones
        elif case < 8:
            sh = int(g.integers(6, 14))         # the useful range: outputs spread over int8
        await tb.project(x, w, mode, mant, sh)


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5)])
async def random_and_corners(dut, stalls):
    """Every LO weight mode, -128 and zero corners, sh from 0 to 31; at full rate, then with
    source gaps and sink back-pressure (each output checked in order: none lost or repeated)."""
    await _run(dut, *stalls)
