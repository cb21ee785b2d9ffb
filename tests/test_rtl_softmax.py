# amaranth: UnusedElaboratable=no
"""Integer softmax (SPEC 4.4): the one-LUT-for-every-F identity, RTL rows against golden."""

import numpy as np
import pytest

from golden.softmax import softmax_lut
from lapa.config import HardwareConfig
from rtl.generate import to_verilog
from rtl.softmax import SM_LUT_BITS, Softmax, sm_lut_init
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, mac_rows=2)


@pytest.mark.parametrize("frac", range(1, 9))
def test_lut_serves_every_frac_bits(frac):
    """LUT_F[f] == LUT_8[f << (8 - F)]: the hardware's single ROM is exact for every F."""
    rom = np.array(sm_lut_init())
    idx = np.arange(1 << frac) << (SM_LUT_BITS - frac)
    assert (rom[idx] == softmax_lut(frac)).all()


def test_rtl_softmax(simulator):
    dut = Softmax(score_width=HW.score_width, max_len=HW.max_seq_len)
    run_cocotb(to_verilog(dut, "softmax"), "softmax", "sim.softmax", simulator=simulator,
               env={"SCORE_WIDTH": HW.score_width, "MAX_LEN": HW.max_seq_len,
                    "SCORE_LIMIT": HW.head_dim * 128 * 128})


@pytest.mark.parametrize("kw,name", [({"score_width": 1, "max_len": 4}, "score_width"),
                                     ({"score_width": 18, "max_len": 0}, "max_len")])
def test_softmax_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        Softmax(**kw)
