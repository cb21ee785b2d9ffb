"""cocotb testbench of the LO encoder: every int8 value, every mode, against golden.loe."""

import cocotb
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from cocotb.triggers import Timer

from golden.loe import lo_encode
from rtl.speculation.loe import LOCode, LOEncoder

MODES = (("floor", 0), ("round", 0), ("floor", 1), ("round", 1))


def _port(mode, mant_bits):
    return f"code_{mode}{mant_bits}"


class LOEModes(wiring.Component):
    """Test harness: one LOE per mode, all driven by the same value."""

    def __init__(self):
        super().__init__({"value": In(signed(8)),
                          **{_port(*md): Out(LOCode) for md in MODES}})

    def elaborate(self, platform):
        m = Module()
        for mode, mant in MODES:
            enc = m.submodules[f"loe_{mode}{mant}"] = LOEncoder(mode=mode, mant_bits=mant)
            m.d.comb += [enc.value.eq(self.value), getattr(self, _port(mode, mant)).eq(enc.code)]
        return m


@cocotb.test()
async def every_value_every_mode(dut):
    """All 256 int8 values in the four modes, compared field by field with the golden code."""
    for v in range(-128, 128):
        dut.value.value = v
        await Timer(1, unit="ns")
        for mode, mant in MODES:
            want = lo_encode(v, mode, mant)
            got = LOCode.from_bits(int(getattr(dut, _port(mode, mant)).value))
            assert (got.zero, got.neg, got.e, got.m) == (
                int(want.zero), int(want.sign < 0), int(want.e), int(want.m)), \
                f"value {v} mode {mode}/{mant}: got {got}, want {want}"
