# amaranth: UnusedElaboratable=no
"""A.V array (PE Array 2, SPEC 4.5): RTL o against golden attend; parameter refusals."""

import pytest

from lapa.config import HardwareConfig
from rtl.av_array import AVArray
from rtl.generate import to_verilog
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, av_lanes=4, mac_rows=2)


def test_rtl_av_array(simulator):
    dut = AVArray(lanes=HW.av_lanes, acc_width=HW.av_acc_width)
    run_cocotb(to_verilog(dut, "av_array"), "av_array", "sim.av_array", simulator=simulator,
               env={"LANES": HW.av_lanes, "MAX_LEN": HW.max_seq_len})


@pytest.mark.parametrize("kw,name", [({"lanes": 0, "acc_width": 40}, "lanes"),
                                     ({"lanes": 2, "acc_width": 24}, "acc_width")])
def test_av_array_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        AVArray(**kw)
