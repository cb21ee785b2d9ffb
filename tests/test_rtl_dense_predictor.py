# amaranth: UnusedElaboratable=no
"""The dense predictor (SPEC 8 dense) in the predictor slot: C_1 as kept lists, every key needed,
against golden under back-pressure, at two shapes (one-token hardware included)."""

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.predictors.dense import DensePredictor
from rtl.generate import to_verilog
from rtl.predictors.slot import PredictorSlot
from sim.runner import run_cocotb

SHAPES = {"L16": dict(max_seq_len=16, max_rounds=2), "L1": dict(max_seq_len=1)}


@pytest.mark.parametrize("shape", SHAPES)
def test_rtl_dense_predictor(simulator, shape):
    cfg = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, pea_lanes=4, peb_lanes=4, mac_rows=1,
                                       mac_cols=8, av_lanes=8, predictor="dense", **SHAPES[shape]))
    run_cocotb(to_verilog(DensePredictor(cfg), "dense"), "dense", "sim.dense_predictor",
               simulator=simulator, config=cfg)


def test_dense_predictor_is_a_slot_predictor_without_arithmetic():
    """Its only members are the slot and the round counters; no multiplier, no adder but counters."""
    hw = HardwareConfig(predictor="dense")
    pred = DensePredictor(hw)
    assert set(pred.signature.members) == {"slot", "perf"}
    assert pred.signature.members["slot"].signature == PredictorSlot(hw)
    assert " * " not in to_verilog(pred, "dense")
