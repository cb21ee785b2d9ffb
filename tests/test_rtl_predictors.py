# amaranth: UnusedElaboratable=no
"""Baseline predictor blocks (SPEC 8): sanger, topk and symlo's x-LOE against their golden twins
under back-pressure; multipliers only where the scheme has them; refusals."""

import pytest

from rtl.generate import to_verilog
from rtl.predictors.sanger import Sanger
from rtl.predictors.topk import TopK
from rtl.predictors.xloe import XLOE
from sim.blocks import Params, run_block, small_config
from sim.runner import run_cocotb
from sim.xloe import XLOEBench

LONG = [1, pytest.param(4, marks=pytest.mark.slow, id="long")]  # REPEAT: the long run multiplies the random cases
SANGER = {"lanes": 4, "head_dim": 8, "max_len": 12}
# lanes = peb_lanes (head_dim / lanes chunks per row) x max_seq_len
SANGER_SHAPES = [pytest.param(small_config(peb_lanes=4, max_seq_len=12), id="lanes4-dh8-2chunks-L12"),
                 pytest.param(small_config(max_seq_len=3), id="lanes8-dh8-1chunk-L3"),
                 pytest.param(small_config(d_model=24, head_dim=24, peb_lanes=3, max_seq_len=20),
                              id="lanes3-dh24-8chunks-L20", marks=pytest.mark.slow)]


@pytest.mark.parametrize("repeat", LONG)
@pytest.mark.parametrize("cfg", SANGER_SHAPES)
def test_rtl_sanger(simulator, cfg, repeat):
    run_block("sanger", cfg, simulator=simulator, env={"REPEAT": repeat})


@pytest.mark.parametrize("kw,name", [({"lanes": 0}, "lanes"), ({"lanes": 3}, "head_dim"),
                                     ({"max_len": 0}, "max_len")])
def test_sanger_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        Sanger(**{**SANGER, **kw})


TOPK = [{"max_len": 12, "score_width": 18, "radix_bits": 4}]
# the generator's engine (radix 16, score_width of the head) and, outside any LapaConfig, a
# narrow radix-2 one (LAPA_BLOCK)
TOPK_SHAPES = [pytest.param(small_config(max_seq_len=12), id="radix16-L12-dh8"),   # 19-bit scores: 5 passes, the top digit partial
               pytest.param(Params(TopK, max_len=9, score_width=6, radix_bits=1), id="radix2-L9-w6"),  # one comparator, one bit per pass
               pytest.param(small_config(d_model=64, head_dim=64, max_seq_len=40), id="radix16-L40-dh64",
                            marks=pytest.mark.slow)]


@pytest.mark.parametrize("shape", TOPK_SHAPES)
@pytest.mark.parametrize("repeat", LONG)
def test_rtl_topk(simulator, shape, repeat):
    run_block("topk", shape, simulator=simulator, env={"REPEAT": repeat})


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
