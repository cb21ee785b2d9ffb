# amaranth: UnusedElaboratable=no
"""PEA (SPEC 3.2): RTL against golden.pea under back-pressure; no multiplier; refusals."""

import pytest

from lapa.config import HardwareConfig
from rtl.generate import to_verilog
from rtl.pea import PEA
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=40, head_dim=8, max_seq_len=16, pea_lanes=4, peb_lanes=8, mac_rows=1)
LONG = [1, pytest.param(10, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases


def _pea():
    return PEA(lanes=HW.pea_lanes, d_model=HW.d_model, acc_width=HW.pea_acc_width)


@pytest.mark.parametrize("repeat", LONG)
def test_rtl_pea(simulator, repeat):
    run_cocotb(to_verilog(_pea(), "pea"), "pea", "sim.pea", simulator=simulator,
               env={"REPEAT": repeat, "LANES": HW.pea_lanes, "D_MODEL": HW.d_model})


def test_pea_has_no_multiplier():
    text = to_verilog(_pea(), "pea")
    assert " * " not in text, "PEA must compute the LO product with shifts and adds only"


@pytest.mark.parametrize("kw,name", [({"lanes": 0}, "lanes"), ({"d_model": 0}, "d_model"),
                                     ({"acc_width": 20}, "acc_width")])
def test_pea_refuses(kw, name):
    args = {"lanes": 4, "d_model": 576, "acc_width": HardwareConfig().pea_acc_width, **kw}
    with pytest.raises(ValueError, match=name):
        PEA(**args)
