# amaranth: UnusedElaboratable=no
"""PEB / MRSA (SPEC 3.3-3.4): RTL against golden.peb under back-pressure; no multiplier; refusals."""

import pytest

from lapa.config import HardwareConfig
from rtl.generate import to_verilog
from rtl.peb import PEB
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=32, head_dim=8, max_seq_len=16, peb_lanes=4, pea_lanes=8, mac_rows=1)
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


def _peb():
    return PEB(lanes=HW.peb_lanes, head_dim=HW.head_dim, idx_width=HW.seq_index_width,
               score_width=HW.peb_acc_width)


@pytest.mark.parametrize("repeat", LONG)
def test_rtl_peb(simulator, repeat):
    run_cocotb(to_verilog(_peb(), "peb"), "peb", "sim.peb", simulator=simulator,
               env={"REPEAT": repeat, "LANES": HW.peb_lanes, "HEAD_DIM": HW.head_dim,
                    "IDX_WIDTH": HW.seq_index_width, "SCORE_WIDTH": HW.peb_acc_width})


def test_peb_has_no_multiplier():
    assert " * " not in to_verilog(_peb(), "peb")


@pytest.mark.parametrize("kw,name", [({"lanes": 0}, "lanes"), ({"lanes": 3}, "head_dim"),
                                     ({"score_width": 10}, "score_width"), ({"idx_width": 0}, "idx_width")])
def test_peb_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        PEB(**{"lanes": 4, "head_dim": 8, "idx_width": 4, "score_width": 20, **kw})
