# amaranth: UnusedElaboratable=no
"""MAC PE array (PE Array 1): RTL row sums against exact dot products; parameter refusals."""

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.execution.mac_array import MACArray
from sim.blocks import run_block, small_config

# mac_rows x mac_cols, jobs of up to d_model / mac_cols beats
SHAPES = [pytest.param(LapaConfig(hw=HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, mac_rows=2,
                                                    mac_cols=4)), id="rows2-cols4-D64"),
          pytest.param(small_config(mac_rows=1, mac_cols=1), id="rows1-cols1-D8"),
          pytest.param(small_config(d_model=48, head_dim=24, mac_rows=3, mac_cols=8), id="rows3-cols8-D48",
                       marks=pytest.mark.slow)]


@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_mac_array(simulator, cfg):
    run_block("mac_array", cfg, simulator=simulator)


@pytest.mark.parametrize("kw,name", [({"rows": 0, "cols": 2, "acc_width": 32}, "rows"),
                                     ({"rows": 2, "cols": 0, "acc_width": 32}, "cols"),
                                     ({"rows": 2, "cols": 2, "acc_width": 15}, "acc_width")])
def test_mac_array_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        MACArray(**kw)
