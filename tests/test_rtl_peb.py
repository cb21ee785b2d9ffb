# amaranth: UnusedElaboratable=no
"""PEB / MRSA (SPEC 3.3-3.4): RTL against golden.peb under back-pressure; no multiplier; refusals."""

import pytest

from rtl.generate import to_verilog
from rtl.speculation.peb import PEB
from sim.blocks import build_block, run_block, small_config

# peb_lanes x head_dim (head_dim / peb_lanes chunks per key) x max_seq_len (index width)
SHAPES = [pytest.param(small_config(d_model=32, peb_lanes=4, pea_lanes=4, max_seq_len=16), id="lanes4-dh8-2chunks"),
          pytest.param(small_config(max_seq_len=5), id="lanes8-dh8-1chunk-L5"),
          pytest.param(small_config(d_model=24, head_dim=24, peb_lanes=3, max_seq_len=12), id="lanes3-dh24-8chunks",
                       marks=pytest.mark.slow),
          pytest.param(small_config(peb_lanes=1, max_seq_len=2), id="lanes1-dh8-8chunks-L2", marks=pytest.mark.slow)]
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


@pytest.mark.parametrize("repeat", LONG)
@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_peb(simulator, cfg, repeat):
    run_block("peb", cfg, simulator=simulator, env={"REPEAT": repeat})


@pytest.mark.parametrize("cfg", SHAPES)
def test_peb_has_no_multiplier(cfg):
    assert " * " not in to_verilog(build_block("peb", cfg), "peb")


@pytest.mark.parametrize("kw,name", [({"lanes": 0}, "lanes"), ({"lanes": 3}, "head_dim"),
                                     ({"score_width": 10}, "score_width"), ({"idx_width": 0}, "idx_width")])
def test_peb_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        PEB(**{"lanes": 4, "head_dim": 8, "idx_width": 4, "score_width": 20, **kw})
