# amaranth: UnusedElaboratable=no
"""A.V array (PE Array 2, SPEC 4.5): RTL o against golden attend; parameter refusals."""

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.execution.av_array import AVArray
from sim.blocks import run_block, small_config

# av_lanes x max_seq_len: the block as the generator builds it from each config
SHAPES = [pytest.param(LapaConfig(hw=HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, av_lanes=4,
                                                    mac_rows=2, mac_cols=8)), id="lanes4-L32"),
          pytest.param(small_config(av_lanes=1, max_seq_len=3), id="lanes1-L3"),
          pytest.param(small_config(d_model=24, head_dim=24, av_lanes=24, max_seq_len=40), id="lanes24-L40",
                       marks=pytest.mark.slow)]


@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_av_array(simulator, cfg):
    run_block("av_array", cfg, simulator=simulator)


@pytest.mark.parametrize("kw,name", [({"lanes": 0, "acc_width": 40}, "lanes"),
                                     ({"lanes": 2, "acc_width": 24}, "acc_width")])
def test_av_array_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        AVArray(**kw)
