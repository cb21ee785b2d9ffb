"""Write-back arbiter: spans of several producers land intact in AxiRam under stalls."""

from rtl.generate import to_verilog
from rtl.soc.writeback import WriteBack
from sim.lint import lint_verilog
from sim.runner import run_cocotb
from sim.writeback import ADDR_WIDTH, DATA_WIDTH, N_SRC


def _verilog():
    return to_verilog(WriteBack(n_src=N_SRC, addr_width=ADDR_WIDTH, data_width=DATA_WIDTH), "writeback")


def test_rtl_writeback(simulator):
    run_cocotb(_verilog(), "writeback", "sim.writeback", simulator=simulator)


def test_writeback_lint_clean():
    assert lint_verilog(_verilog(), "writeback") == []
