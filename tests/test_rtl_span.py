# amaranth: UnusedElaboratable=no
"""Row span source: whole rows offered as spans, never waiting on the producer; parameter checks."""

import pytest

from rtl.generate import to_verilog
from rtl.soc.span import RowSpanSource
from sim.lint import lint_verilog
from sim.runner import run_cocotb
from sim.span import ADDR_WIDTH, DATA_WIDTH, MAX_ROW_WORDS, ROWS


def _verilog():
    return to_verilog(RowSpanSource(max_row_words=MAX_ROW_WORDS, rows=ROWS, addr_width=ADDR_WIDTH,
                                    data_width=DATA_WIDTH), "span")


def test_rtl_span(simulator):
    res = run_cocotb(_verilog(), "span", "sim.span", simulator=simulator)
    assert res.tests == 2, f"{res.tests} cocotb tests ran"


def test_span_lint_clean():
    assert lint_verilog(_verilog(), "span") == []


@pytest.mark.parametrize("kw,name", [({"max_row_words": 0}, "max_row_words"), ({"rows": 0}, "rows"),
                                     ({"max_row_words": 1 << 16}, "max_row_words")])
def test_span_refuses_parameters(kw, name):
    args = {"max_row_words": 4, "rows": 2, **kw}
    with pytest.raises(ValueError, match=name):
        RowSpanSource(**args)
