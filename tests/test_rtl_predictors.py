# amaranth: UnusedElaboratable=no
"""Baseline predictor blocks (SPEC 8): sanger, topk and symlo's x-LOE against their golden twins
under back-pressure; multipliers only where the scheme has them; refusals."""

import pytest

from rtl.generate import to_verilog
from rtl.sanger import Sanger
from rtl.topk import TopK
from rtl.xloe import XLOE
from sim.runner import run_cocotb
from sim.xloe import XLOEBench

LONG = [1, pytest.param(4, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases
SANGER = {"lanes": 4, "head_dim": 8, "max_len": 12}


@pytest.mark.parametrize("repeat", LONG)
def test_rtl_sanger(simulator, repeat):
    run_cocotb(to_verilog(Sanger(**SANGER), "sanger"), "sanger", "sim.sanger", simulator=simulator,
               env={"REPEAT": repeat, "HEAD_DIM": SANGER["head_dim"], "MAX_LEN": SANGER["max_len"]})


@pytest.mark.parametrize("kw,name", [({"lanes": 0}, "lanes"), ({"lanes": 3}, "head_dim"),
                                     ({"max_len": 0}, "max_len")])
def test_sanger_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        Sanger(**{**SANGER, **kw})


TOPK = [{"max_len": 12, "score_width": 18, "radix_bits": 4},   # 5 passes, the top digit partial
        {"max_len": 9, "score_width": 6, "radix_bits": 1}]     # one comparator, one bit per pass


@pytest.mark.parametrize("kw", TOPK, ids=["radix16", "radix2"])
@pytest.mark.parametrize("repeat", LONG)
def test_rtl_topk(simulator, kw, repeat):
    run_cocotb(to_verilog(TopK(**kw), "topk"), "topk", "sim.topk", simulator=simulator,
               env={"REPEAT": repeat, "MAX_LEN": kw["max_len"], "SCORE_WIDTH": kw["score_width"]})


@pytest.mark.parametrize("kw,name", [({"max_len": 0}, "max_len"), ({"score_width": 1}, "score_width"),
                                     ({"radix_bits": 0}, "radix_bits")])
def test_topk_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        TopK(**{**TOPK[0], **kw})


def test_rtl_xloe(simulator):
    run_cocotb(to_verilog(XLOEBench(), "xloe_bench"), "xloe_bench", "sim.xloe", simulator=simulator)


@pytest.mark.parametrize("make", [lambda: XLOE(), lambda: TopK(**TOPK[0])], ids=["xloe", "topk"])
def test_no_multiplier(make):
    """symlo's x-LOE and the top-k engine multiply nothing (Sanger's score array does, by design)."""
    assert " * " not in to_verilog(make(), "dut")
