"""AXI4 burst reader/writer against cocotbext-axi's AxiRam, with random channel stalls."""

from rtl.generate import to_verilog
from sim.dma import DMAPair
from sim.runner import run_cocotb


def test_rtl_dma(simulator):
    run_cocotb(to_verilog(DMAPair(), "dma_pair"), "dma_pair", "sim.dma", simulator=simulator)


def test_dma_lint_clean():
    from sim.lint import lint_verilog

    assert lint_verilog(to_verilog(DMAPair(), "dma_pair"), "dma_pair") == []
