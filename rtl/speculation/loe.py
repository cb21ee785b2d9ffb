"""LOE: leading-one encoder of SPEC section 2, combinational.

Turns an int8 into its LO code (zero flag, sign, exponent e, mantissa bit m). At run time LAPA
needs only mode `floor` without mantissa (for `q_hat`); the other modes are what ALOC applies
offline to the weights, generated here too so the hardware and golden codes can be compared.
"""

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from rtl.registry import block

__all__ = ["LOCode", "LOEncoder"]


class LOCode(data.Struct):
    """An LO code: value = (neg ? -1 : 1) * (2^e + m * 2^(e-1)), or 0 when `zero`."""

    zero: 1
    neg: 1
    e: 3
    m: 1


class LOEncoder(wiring.Component):
    """LOE: int8 `value` -> LO `code` (combinational)."""

    value: In(signed(8))
    code: Out(LOCode)

    def __init__(self, *, mode="floor", mant_bits=0):
        if mode not in ("floor", "round"):
            raise ValueError(f"mode = {mode!r}: must be 'floor' or 'round'")
        if mant_bits not in (0, 1):
            raise ValueError(f"mant_bits = {mant_bits!r}: must be 0 or 1")
        self.mode = mode
        self.mant_bits = mant_bits
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        mag = Signal(8)  # |value|: 128 for -128 still fits
        m.d.comb += mag.eq(abs(self.value))
        code = self.code
        m.d.comb += [code.zero.eq(self.value == 0), code.neg.eq(self.value[7])]
        # Priority over the bits of |value|: the highest set bit k decides, with the bits
        # below it (k-1 and k-2) steering the rounding.
        for k in range(8):
            b1 = mag[k - 1] if k >= 1 else 0
            b2 = mag[k - 2] if k >= 2 else 0
            with m.If(mag[k]):
                if self.mant_bits == 0:
                    m.d.comb += code.e.eq(k + (b1 if self.mode == "round" else 0))
                elif self.mode == "floor":
                    m.d.comb += [code.e.eq(k), code.m.eq(b1)]
                else:
                    # round: a set bit k-2 steps one half-step up (m 0 -> 1, m 1 -> e+1, m 0)
                    m.d.comb += [code.e.eq(k + (b1 & b2)), code.m.eq(b1 ^ b2)]
        return m


@block("loe", unit="speculation")
def _loe(cfg):
    """Runtime LO encoder of q_hat (mode floor, no mantissa)."""
    return LOEncoder(mode="floor", mant_bits=0)
