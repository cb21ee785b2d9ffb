"""Result writer: every producer's rows land at the memory contract's places (trace off and on,
seq_len 1 to max_seq_len, full rate and AXI / stream stalls), counters and quiet flags; lint."""

from lapa.config import HardwareConfig, LapaConfig
from rtl.generate import to_verilog
from rtl.soc.results import ResultWriter
from sim.lint import lint_verilog
from sim.results import ADDR_WIDTH, DATA_WIDTH, ResultsHarness
from sim.runner import run_cocotb

CFG = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, max_seq_len=16, n_heads=2, n_kv_heads=1,
                                   mac_rows=2, mac_cols=2, av_lanes=2, pea_lanes=8, peb_lanes=8))


def _run(simulator, **kw):
    return run_cocotb(to_verilog(ResultsHarness(CFG.hw), "results_tb"), "results_tb", "sim.results",
                      simulator=simulator, config=CFG, **kw)


def test_rtl_results(simulator):
    res = _run(simulator)
    assert res.tests == 3, f"{res.tests} cocotb tests ran (two stall settings, needed back to back)"


def test_results_lint_clean():
    verilog = to_verilog(ResultWriter(CFG.hw, addr_width=ADDR_WIDTH, data_width=DATA_WIDTH), "results")
    assert lint_verilog(verilog, "results") == []
