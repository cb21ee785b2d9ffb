"""The `symlo` predictor (SPEC section 8, the symmetric LO scheme of FACT): LAPA's speculation unit
with x LO-coded at run time before the PEA.

`SymloUnit` is `rtl.speculation.unit.SpeculationUnit` (same ports, configuration, perf counters and
cost) with `rtl.predictors.xloe.XLOE` (combinational: no cycle, no buffer) between the unit's `x`
stream and the projector's x row buffer, so the PEA accumulates `sign(x) * 2^e(x)`
(`golden.pea.symlo_input`) against the same LO weights; RoPE, LOE, PEB, DDF and the needed scan are
LAPA's. The x-LOE is the instance `xloe` of the unit. lapa's unit is not changed by it: only this
subclass overrides `x_source`.
"""

from amaranth.lib import wiring

from rtl.predictors.xloe import XLOE
from rtl.speculation.unit import SpeculationUnit

__all__ = ["SymloUnit"]


class SymloUnit(SpeculationUnit):
    """The speculation unit with the x-LOE on its x stream (see module docstring)."""

    def x_source(self, m):
        m.submodules.xloe = xloe = XLOE()
        wiring.connect(m, wiring.flipped(self.x), xloe.i)
        return xloe.o
