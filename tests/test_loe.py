"""LO encoder: golden tables by hand, and the RTL against golden on every int8 value."""

import numpy as np
import pytest

from golden.loe import lo_encode, lo_quantize
from rtl.generate import to_verilog
from sim.loe import LOEModes
from sim.runner import run_cocotb


def _table(mode, mant):
    return {v: int(lo_quantize(v, mode, mant)) for v in range(-128, 128)}


# Hand-written expectations: value -> what the code stands for.
FLOOR0 = {0: 0, 1: 1, 2: 2, 3: 2, 5: 4, 7: 4, 8: 8, 12: 8, 15: 8, 96: 64, 127: 64, -128: -128, -3: -2}
ROUND0 = {0: 0, 1: 1, 2: 2, 3: 4, 5: 4, 6: 8, 11: 8, 12: 16, 96: 128, 95: 64, 127: 128,
          -128: -128, -3: -4, -65: -64}
FLOOR1 = {0: 0, 1: 1, 2: 2, 3: 3, 5: 4, 6: 6, 7: 6, 13: 12, 127: 96, -128: -128, -7: -6}
ROUND1 = {0: 0, 1: 1, 3: 3, 5: 6, 7: 8, 9: 8, 11: 12, 13: 12, 14: 16, 15: 16, 111: 96, 112: 128,
          80: 96, 95: 96, 127: 128, -128: -128, -7: -8}


@pytest.mark.parametrize("mode,mant,expect", [("floor", 0, FLOOR0), ("round", 0, ROUND0),
                                               ("floor", 1, FLOOR1), ("round", 1, ROUND1)])
def test_golden_table(mode, mant, expect):
    table = _table(mode, mant)
    for v, want in expect.items():
        assert table[v] == want, f"{mode}/{mant}: LO({v}) = {table[v]}, want {want}"


@pytest.mark.parametrize("mode,mant", [("floor", 0), ("round", 0), ("floor", 1), ("round", 1)])
def test_golden_nearest(mode, mant):
    """Every code is a representable value; round mode picks a nearest one (ties up)."""
    vals = np.arange(-128, 128)
    got = lo_quantize(vals, mode, mant)
    reps = sorted({0} | {s * ((1 << e) + mm * ((1 << e) >> 1)) for s in (1, -1) for e in range(8)
                         for mm in range(mant + 1)})
    reps = np.array(reps)
    assert np.isin(got, reps).all()
    if mode == "round":
        err = np.abs(vals[:, None] - reps[None, :]).min(axis=1)
        assert (np.abs(vals - got) == err).all()
    else:
        assert (np.abs(got) <= np.abs(vals)).all()
    code = lo_encode(vals, mode, mant)
    assert code.e.max() <= 7


def test_rtl_every_value(simulator):
    run_cocotb(to_verilog(LOEModes(), "loe_modes"), "loe_modes", "sim.loe", simulator=simulator)
