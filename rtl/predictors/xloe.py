"""x-LOE of the `symlo` predictor (SPEC section 8, the symmetric scheme of FACT, ISCA 2023).

Under `symlo` the token activations are LO-coded at run time too (mode floor, no mantissa)
before the PEA: `x' = sign(x) * 2^e(x)`, 0 where x = 0 (`golden.pea.symlo_input`). This block
sits on the PEA's `x` stream (the speculation unit's `x` input, before its x row buffer, so the
PEA's own path is untouched): `i` int8 beats in, `o` int8 beats out, the same payload, so the
PEA and everything after it stay LAPA's (`rtl.predictors.symlo.SymloUnit` puts it there, as the
instance `xloe` of the unit). Every x' fits int8: |x| <= 127 gives at most 64, x = -128 gives -128.

Combinational (an `rtl.speculation.loe.LOEncoder` and a one-hot decode, no register): `o.valid` is
`i.valid`, `i.ready` is `o.ready`, so it adds no cycle and no buffering. Measured
(`build.py synth --block xloe`, OSU 0.18 um): 1,665 um^2 (56 cells, the LOE 1,115), no `$mul`.
"""

from amaranth.hdl import Module, Mux, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.speculation.loe import LOEncoder
from rtl.registry import block

__all__ = ["XLOE"]


class XLOE(wiring.Component):
    """`i` stream of int8 x -> `o` stream of int8 `sign(x) * 2^e(x)` (combinational)."""

    i: In(stream.Signature(signed(8)))
    o: Out(stream.Signature(signed(8)))

    def elaborate(self, platform):
        m = Module()
        m.submodules.loe = loe = LOEncoder(mode="floor", mant_bits=0)
        code = loe.code
        power = 1 << code.e                      # 2^e: 1..128 (128 only for x = -128)
        m.d.comb += [loe.value.eq(self.i.payload),
                     self.o.payload.eq(Mux(code.zero, 0, Mux(code.neg, -power, power))),
                     self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready)]
        return m


@block("xloe", unit="speculation")
def _xloe(cfg):
    """symlo's run-time LO encoder of x before the PEA (SPEC 8)."""
    return XLOE()
