# amaranth: UnusedElaboratable=no
"""MAC PE array (PE Array 1): RTL row sums against exact dot products; parameter refusals."""

import pytest

from lapa.config import HardwareConfig
from rtl.generate import to_verilog
from rtl.mac_array import MACArray
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, mac_rows=2, mac_cols=4)


def test_rtl_mac_array(simulator):
    dut = MACArray(rows=HW.mac_rows, cols=HW.mac_cols, acc_width=HW.mac_acc_width)
    run_cocotb(to_verilog(dut, "mac_array"), "mac_array", "sim.mac_array", simulator=simulator,
               env={"ROWS": HW.mac_rows, "COLS": HW.mac_cols, "ACC_WIDTH": HW.mac_acc_width,
                    "MAX_BEATS": HW.d_model // HW.mac_cols})


@pytest.mark.parametrize("kw,name", [({"rows": 0, "cols": 2, "acc_width": 32}, "rows"),
                                     ({"rows": 2, "cols": 0, "acc_width": 32}, "cols"),
                                     ({"rows": 2, "cols": 2, "acc_width": 15}, "acc_width")])
def test_mac_array_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        MACArray(**kw)
