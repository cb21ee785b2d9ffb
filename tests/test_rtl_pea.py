# amaranth: UnusedElaboratable=no
"""PEA (SPEC 3.2): RTL against golden.pea under back-pressure; no multiplier; refusals."""

import pytest

from lapa.config import HardwareConfig
from rtl.generate import to_verilog
from rtl.speculation.pea import PEA
from sim.blocks import build_block, run_block, small_config

# pea_lanes x d_model; head_dim / pea_lanes lane groups per token, as the projector runs them
SHAPES = [pytest.param(small_config(d_model=40, pea_lanes=4, peb_lanes=4, max_seq_len=16), id="lanes4-D40-2groups"),
          pytest.param(small_config(), id="lanes8-D8-1group"),
          pytest.param(small_config(d_model=16, pea_lanes=1), id="lanes1-D16-8groups", marks=pytest.mark.slow),
          pytest.param(small_config(d_model=72, head_dim=48, pea_lanes=24), id="lanes24-D72-2groups",
                       marks=pytest.mark.slow)]
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


@pytest.mark.parametrize("repeat", LONG)
@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_pea(simulator, cfg, repeat):
    run_block("pea", cfg, simulator=simulator, env={"REPEAT": repeat})


@pytest.mark.parametrize("cfg", SHAPES)
def test_pea_has_no_multiplier(cfg):
    text = to_verilog(build_block("pea", cfg), "pea")
    assert " * " not in text, "PEA must compute the LO product with shifts and adds only"


@pytest.mark.parametrize("kw,name", [({"lanes": 0}, "lanes"), ({"d_model": 0}, "d_model"),
                                     ({"acc_width": 20}, "acc_width")])
def test_pea_refuses(kw, name):
    args = {"lanes": 4, "d_model": 576, "acc_width": HardwareConfig().pea_acc_width, **kw}
    with pytest.raises(ValueError, match=name):
        PEA(**args)
