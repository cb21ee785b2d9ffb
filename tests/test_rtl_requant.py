# amaranth: UnusedElaboratable=no
"""Requant unit (SPEC 4.1): RTL against the golden requant on random vectors and corners."""

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.execution.requant import Requant, requant
from sim.blocks import run_block, small_config

# lanes = mac_rows, accumulator = the MAC array's (d_model and head_dim products)
SHAPES = [pytest.param(LapaConfig(hw=HardwareConfig(d_model=64, head_dim=24, max_seq_len=32, pea_lanes=8,
                                                    peb_lanes=8, mac_rows=3, mac_cols=8, av_lanes=8)),
                       id="lanes3-D64"),
          pytest.param(small_config(), id="lanes1-D8"),
          pytest.param(LapaConfig(), id="default", marks=pytest.mark.slow)]


@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_requant(simulator, cfg):
    run_block("requant", cfg, simulator=simulator)


@pytest.mark.parametrize("kw,name", [({"lanes": 0, "acc_width": 20}, "lanes"),
                                     ({"lanes": 2, "acc_width": 1}, "acc_width")])
def test_requant_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        Requant(**kw)


def test_requant_expression_is_exported():
    assert callable(requant)
