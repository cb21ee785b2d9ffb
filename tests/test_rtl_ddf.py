# amaranth: UnusedElaboratable=no
"""DDF threshold unit (SPEC 3.5): RTL against golden.ddf under back-pressure; refusals."""

import pytest

from lapa.config import HardwareConfig
from rtl.ddf import DDF
from rtl.generate import to_verilog
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=32, head_dim=8, max_seq_len=24, pea_lanes=8, peb_lanes=8, mac_rows=1)
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


@pytest.mark.parametrize("repeat", LONG)
def test_rtl_ddf(simulator, repeat):
    kw = {"max_len": HW.max_seq_len, "idx_width": HW.seq_index_width, "score_width": HW.peb_acc_width}
    run_cocotb(to_verilog(DDF(**kw), "ddf"), "ddf", "sim.ddf", simulator=simulator,
               env={"REPEAT": repeat, "MAX_LEN": kw["max_len"], "IDX_WIDTH": kw["idx_width"],
                    "SCORE_WIDTH": kw["score_width"]})


@pytest.mark.parametrize("kw,name", [({"max_len": 0}, "max_len"), ({"idx_width": 3}, "idx_width"),
                                     ({"score_width": 1}, "score_width")])
def test_ddf_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        DDF(**{"max_len": 24, "idx_width": 5, "score_width": 16, **kw})
