# amaranth: UnusedElaboratable=no
"""StreamResize: widening and narrowing against a Python model, with stalls on both sides."""

import pytest

from rtl.generate import to_verilog
from rtl.common.resize import StreamResize
from sim.lint import lint_verilog
from sim.resize import ResizePair
from sim.runner import run_cocotb


def test_rtl_resize(simulator):
    run_cocotb(to_verilog(ResizePair(), "resize_pair"), "resize_pair", "sim.resize", simulator=simulator)


def test_resize_lint_clean():
    assert lint_verilog(to_verilog(ResizePair(), "resize_pair"), "resize_pair") == []


def test_resize_widths_validated():
    with pytest.raises(ValueError, match="one must be a multiple"):
        StreamResize(in_width=64, out_width=48)
    with pytest.raises(ValueError, match="in_width = 0"):
        StreamResize(in_width=0, out_width=8)
