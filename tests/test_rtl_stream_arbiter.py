# amaranth: UnusedElaboratable=no
"""Round-robin stream arbiter: three configurations against a cycle model (cocotb), lint."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from rtl.common.stream_arbiter import StreamArbiter
from rtl.generate import to_verilog
from sim.lint import lint_verilog
from sim.runner import run_cocotb
from sim.stream_arbiter import ARBITERS, WIDTH


class _Bench(wiring.Component):
    """The arbiters of `sim.stream_arbiter.ARBITERS` side by side, their ports prefixed by name."""

    def __init__(self):
        self.arbs = {name: StreamArbiter(WIDTH, n, hold=hold) for name, (n, hold) in ARBITERS.items()}
        super().__init__({name: Out(arb.signature) for name, arb in self.arbs.items()})

    def elaborate(self, platform):
        m = Module()
        for name, arb in self.arbs.items():
            m.submodules[f"arb_{name}"] = arb
            port = getattr(self, name)      # (an array member cannot be flipped as a whole)
            for outer, inner in zip(port.i, arb.i):
                wiring.connect(m, wiring.flipped(outer), inner)
            wiring.connect(m, wiring.flipped(port.o), arb.o)
            m.d.comb += port.grant.eq(arb.grant)
            if arb.hold:
                m.d.comb += [arb.release.eq(port.release), port.locked.eq(arb.locked)]
        return m


def _verilog():
    return to_verilog(_Bench(), "stream_arbiter")


def test_rtl_stream_arbiter(simulator):
    run_cocotb(_verilog(), "stream_arbiter", "sim.stream_arbiter", simulator=simulator)


def test_stream_arbiter_lint_clean():
    assert lint_verilog(_verilog(), "stream_arbiter") == []
