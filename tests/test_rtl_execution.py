# amaranth: UnusedElaboratable=no
"""Execution unit (SPEC 4): RTL against the golden execution path on golden masks; shape refusals."""

import json

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.execution.unit import ExecutionUnit
from rtl.generate import to_verilog
from sim.runner import run_cocotb

CFG = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, max_seq_len=16, n_heads=2, n_kv_heads=1,
                                   mac_rows=2, mac_cols=2, av_lanes=2, pea_lanes=8, peb_lanes=8))


def test_rtl_execution(simulator):
    res = run_cocotb(to_verilog(ExecutionUnit(CFG), "execution"), "execution", "sim.execution",
                     simulator=simulator, config=CFG)
    assert res.tests >= 2, f"only {res.tests} cocotb tests ran"


FULL = LapaConfig(hw=HardwareConfig(d_model=576, head_dim=64, max_seq_len=64, n_heads=3, n_kv_heads=1,
                                    mac_rows=8, mac_cols=8, av_lanes=8))


@pytest.mark.slow
def test_rtl_execution_full_shape_cycles(simulator):
    """The default shape (D = 576, dh = 64, 8 x 8 MAC array, 8 A.V lanes) at L = 64: every output
    checked, and `perf.cycles` equal to `sim.execution.model_cycles` (dense, 30 %, GQA, RoPE)."""
    cases = [[64, 1, "dense", 1], [64, 1, "density=0.3", 1], [64, 3, "speculation", 0], [40, 2, "single", 1]]
    run_cocotb(to_verilog(ExecutionUnit(FULL), "execution"), "execution", "sim.execution",
               simulator=simulator, config=FULL, testcase="measure_cycles",
               env={"EXEC_MEASURE": json.dumps(cases)})
