"""Data Fetcher: requests routed to their consumers in order, against AxiRam with stalls."""

from rtl.soc.fetcher import DataFetcher
from rtl.generate import to_verilog
from sim.fetcher import ADDR_WIDTH, DATA_WIDTH, N_DEST
from sim.lint import lint_verilog
from sim.runner import run_cocotb


def _verilog():
    return to_verilog(DataFetcher(n_dest=N_DEST, addr_width=ADDR_WIDTH, data_width=DATA_WIDTH), "fetcher")


def test_rtl_fetcher(simulator):
    run_cocotb(_verilog(), "fetcher", "sim.fetcher", simulator=simulator)


def test_fetcher_lint_clean():
    assert lint_verilog(_verilog(), "fetcher") == []
