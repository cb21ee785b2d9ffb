# amaranth: UnusedElaboratable=no
"""Integer softmax (SPEC 4.4): the one-LUT-for-every-F identity, RTL rows against golden."""

import numpy as np
import pytest

from golden.softmax import softmax_lut
from lapa.config import HardwareConfig, LapaConfig
from rtl.execution.softmax import SM_LUT_BITS, Softmax, sm_lut_init
from sim.blocks import run_block, small_config

# head_dim (score width and bound) x max_seq_len
SHAPES = [pytest.param(LapaConfig(hw=HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, mac_rows=2,
                                                    mac_cols=8)), id="dh16-L32"),
          pytest.param(small_config(), id="dh8-L1"),
          pytest.param(small_config(d_model=64, head_dim=64, max_seq_len=100), id="dh64-L100",
                       marks=pytest.mark.slow)]


@pytest.mark.parametrize("frac", range(1, 9))
def test_lut_serves_every_frac_bits(frac):
    """LUT_F[f] == LUT_8[f << (8 - F)]: the hardware's single ROM is exact for every F."""
    rom = np.array(sm_lut_init())
    idx = np.arange(1 << frac) << (SM_LUT_BITS - frac)
    assert (rom[idx] == softmax_lut(frac)).all()


@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_softmax(simulator, cfg):
    run_block("softmax", cfg, simulator=simulator)


@pytest.mark.parametrize("kw,name", [({"score_width": 1, "max_len": 4}, "score_width"),
                                     ({"score_width": 18, "max_len": 0}, "max_len")])
def test_softmax_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        Softmax(**kw)
