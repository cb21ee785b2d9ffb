# amaranth: UnusedElaboratable=no
"""Requant unit (SPEC 4.1): RTL against the golden requant on random vectors and corners."""

import pytest

from lapa.config import HardwareConfig
from rtl.generate import to_verilog
from rtl.requant import Requant, requant
from sim.runner import run_cocotb

HW = HardwareConfig(d_model=64, head_dim=16, max_seq_len=32, mac_rows=2)


def test_rtl_requant(simulator):
    acc_width = HW.mac_acc_width
    run_cocotb(to_verilog(Requant(lanes=3, acc_width=acc_width), "requant"), "requant", "sim.requant",
               simulator=simulator, env={"LANES": 3, "ACC_WIDTH": acc_width})


@pytest.mark.parametrize("kw,name", [({"lanes": 0, "acc_width": 20}, "lanes"),
                                     ({"lanes": 2, "acc_width": 1}, "acc_width")])
def test_requant_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        Requant(**kw)


def test_requant_expression_is_exported():
    assert callable(requant)
