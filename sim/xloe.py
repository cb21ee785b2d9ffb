"""cocotb testbench of symlo's x-LOE against `golden.pea.symlo_input`: every int8, then random."""

import cocotb
import numpy as np
from amaranth.hdl import Module, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from cocotb.triggers import ReadOnly

from golden.pea import symlo_input
from rtl.predictors.xloe import XLOE
from sim.streams import stream_bench


class XLOEBench(wiring.Component):
    """Test harness: the x-LOE (combinational) with a clocked transfer counter `beats`, so the
    stream drivers have a clock and the test sees every handshake counted once."""

    i: In(stream.Signature(signed(8)))
    o: Out(stream.Signature(signed(8)))
    beats: Out(16)

    def elaborate(self, platform):
        m = Module()
        m.submodules.xloe = xloe = XLOE()
        wiring.connect(m, wiring.flipped(self.i), xloe.i)
        wiring.connect(m, xloe.o, wiring.flipped(self.o))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.beats.eq(self.beats + 1)
        return m


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.4, 0.5)])
async def every_value(dut, stalls):
    """All 256 int8 values (0, -128, +-2^e and their neighbours among them), then 2000 random
    ones; at full rate, then with source gaps and sink back-pressure (nothing lost or repeated)."""
    rng, src, sink = await stream_bench(dut, *stalls)
    xs = list(range(-128, 128)) + [rng.randint(-128, 127) for _ in range(2000)]
    for x in xs:
        src.send(x & 0xFF)
    got = [v - 256 if v >= 128 else v for v in await sink.get(len(xs))]
    want = symlo_input(np.array(xs)).tolist()
    bad = [(x, g, w) for x, g, w in zip(xs, got, want) if g != w]
    assert not bad, f"(x, got, want): {bad[:10]}"
    assert not sink.items, "extra beats"
    await ReadOnly()
    assert int(dut.beats.value) == len(xs) & 0xFFFF, f"{int(dut.beats.value)} transfers, want {len(xs)}"
