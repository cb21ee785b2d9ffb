# amaranth: UnusedElaboratable=no
"""Speculation unit (SPEC 3): RTL mask and key_needed against golden, under back-pressure."""

import json

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.generate import to_verilog
from rtl.predictors.symlo import SymloUnit
from rtl.speculation.unit import SpeculationUnit
from sim.runner import run_cocotb

CFG = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, max_seq_len=16, pea_lanes=4, peb_lanes=4,
                                   mac_rows=1, mac_cols=8, av_lanes=8))


@pytest.mark.parametrize("cases", [8, pytest.param(60, marks=pytest.mark.slow, id="long")])
def test_rtl_speculation(simulator, cases):
    run_cocotb(to_verilog(SpeculationUnit(CFG), "speculation"), "speculation", "sim.speculation",
               simulator=simulator, config=CFG, env={"CASES": cases})


SYMLO_CFG = LapaConfig(hw=CFG.hw.replace(predictor="symlo"))


def test_rtl_symlo_speculation(simulator):
    """symlo: the unit with the x-LOE on its x stream; the same jobs (x = -128, GQA, traces, stalls)
    against golden with x LO-coded (the testbench's jobs take the generated predictor)."""
    run_cocotb(to_verilog(SymloUnit(SYMLO_CFG), "speculation"), "speculation", "sim.speculation",
               simulator=simulator, config=SYMLO_CFG, env={"CASES": 8})


@pytest.mark.parametrize("kw,name", [({"pea_lanes": 3}, "pea_lanes"), ({"peb_lanes": 3}, "peb_lanes")])
def test_speculation_refuses(kw, name):
    with pytest.raises(ValueError, match=name):
        SpeculationUnit(LapaConfig(hw=CFG.hw.replace(**kw)))


@pytest.mark.parametrize("monitor", [1, 0])
def test_rtl_speculation_counts_pairs(tmp_path, monitor):
    """perf counters: candidates scored equal sum_r |C_r| of golden (checked in the testbench),
    with the outputs checked beat by beat (monitor = 1) or in the fast measurement mode."""
    out = tmp_path / "perf.json"
    run_cocotb(to_verilog(SpeculationUnit(CFG), "speculation"), "speculation", "sim.speculation",
               config=CFG, testcase="cycles_per_row",
               env={"PERF_OUT": out, "PERF_LENGTHS": "1,16,9", "PERF_MONITOR": monitor})
    rows = json.loads(out.read_text())
    assert [r["L"] for r in rows] == [1, 16, 9]
    assert all(r["predict_cycles"] >= r["ideal_predict_cycles"] for r in rows)
