# amaranth: UnusedElaboratable=no
"""DDF threshold unit (SPEC 3.5): RTL against golden.ddf under back-pressure; refusals."""

import pytest

from rtl.speculation.ddf import DDF
from sim.blocks import run_block, small_config

# max_seq_len (index width) x head_dim (PEB score width)
SHAPES = [pytest.param(small_config(d_model=32, max_seq_len=24), id="L24-dh8"),
          pytest.param(small_config(head_dim=16, max_seq_len=1), id="L1-dh16"),
          pytest.param(small_config(head_dim=64, max_seq_len=100), id="L100-dh64", marks=pytest.mark.slow)]
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


@pytest.mark.parametrize("repeat", LONG)
@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_ddf(simulator, cfg, repeat):
    run_block("ddf", cfg, simulator=simulator, env={"REPEAT": repeat})


@pytest.mark.parametrize("kw,name", [({"max_len": 0}, "max_len"), ({"idx_width": 3}, "idx_width"),
                                     ({"score_width": 1}, "score_width")])
def test_ddf_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        DDF(**{"max_len": 24, "idx_width": 5, "score_width": 16, **kw})
