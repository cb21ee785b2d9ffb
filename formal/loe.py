"""LOE proofs: the encoder's code equals golden/loe.py's table for every int8 input.

The reference is the golden model's `lo_encode` evaluated on all 256 int8 values and written
into the wrapper as a case table, so the proof compares the RTL with the golden function itself
(SPEC section 2), not with a second hand-written encoder. The LOE is combinational: one step of
a k-induction (depth 1) covers every input.
"""

import numpy as np
from amaranth.hdl import Assert, Module, Signal

from golden.loe import lo_encode
from rtl.speculation.loe import LOCode, LOEncoder

from .harness import Harness

__all__ = ["LOETable", "reference_table"]


def reference_table(mode, mant_bits):
    """{int8 value: (zero, neg, e, m)} from golden/loe.py."""
    v = np.arange(-128, 128)
    code = lo_encode(v, mode, mant_bits)
    return {int(x): (int(z), int(s < 0), int(e), int(mm))
            for x, z, s, e, mm in zip(v, code.zero, code.sign, code.e, code.m)}


class LOETable(Harness):
    """`code` == the golden table entry of `value`."""

    def __init__(self, dut: LOEncoder):
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        want = Signal(LOCode)
        with m.Switch(dut.value):
            for value, (zero, neg, e, mant) in reference_table(dut.mode, dut.mant_bits).items():
                with m.Case(value):
                    m.d.comb += [want.zero.eq(zero), want.neg.eq(neg), want.e.eq(e), want.m.eq(mant)]
        m.d.comb += Assert(dut.code.as_value() == want.as_value(), "LOE code != golden table")
