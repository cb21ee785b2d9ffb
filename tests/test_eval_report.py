"""Report, plot and `--merge` of `build.py eval` on synthetic records (no model needed)."""

import json

from evaluation.report import best_within, render_markdown, write_report
from evaluation.settings import Setting
from evaluation.sweep import GRIDS, grid
from lapa.cli import main


def _rec(pred, eta, change, red, ctx=1024):
    s = Setting("range", (4, 4), (eta,), (0.0,))
    return {"ctx": ctx, "windows": 8, "predictor": pred, "label": s.label, "setting": s.to_dict(),
            "ppl": 21.0 * (1 + change), "ppl_change": change, "density_per_round": [0.9, 0.8],
            "density": 0.8, "key_needed": 1.0, "exec_reduction": red, "dense_macs": 100,
            "exec_macs": int(100 * (1 - red)), "pred_shift_adds": 50 if pred == "lapa" else 0}


RECORDS = [
    {"ctx": 1024, "windows": 8, "predictor": "dense", "label": "causal", "setting": None, "ppl": 21.0,
     "ppl_change": 0.0, "density_per_round": [1.0], "density": 1.0, "key_needed": 1.0,
     "exec_reduction": 0.0, "dense_macs": 100, "exec_macs": 100, "pred_shift_adds": 0},
    _rec("lapa", 0.9, 0.004, 0.10), _rec("lapa", 0.8, 0.015, 0.20), _rec("lapa", 0.7, 0.03, 0.30),
    _rec("oracle", 0.9, 0.001, 0.15), _rec("oracle", 0.8, 0.01, 0.25),
]


def test_best_within_budget():
    assert best_within(RECORDS, 1024, "lapa", 0.005)["exec_reduction"] == 0.10
    assert best_within(RECORDS, 1024, "lapa", 0.02)["exec_reduction"] == 0.20
    assert best_within(RECORDS, 1024, "topk", 0.02) is None


def test_markdown_names_budget_and_oracle():
    md = render_markdown(RECORDS, {"command": "build.py eval"})
    assert "## ctx 1024, 8 windows" in md and "Dense perplexity: **21.000**" in md
    assert "| +2% | lapa | range eta=0.8,0.8 bits=4,4 lo=round/m0 (oracle same setting: +1.00%, 25.0%)" in md


def test_grids_are_valid_and_ordered():
    for name in GRIDS:
        jobs = grid(name)
        assert jobs and all(isinstance(s, Setting) and ps for s, ps in jobs)
    full = grid("full")
    assert [s for s, _ in full[:len(grid("main"))]] == [s for s, _ in grid("main")]
    assert {s.n_rounds for s, _ in full} == {1, 2, 3} and {s.w_lo_mant_bits for s, _ in full} == {0, 1}


def test_merge_combines_runs(tmp_path, capsys):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    write_report(RECORDS, str(a), {"command": "a"})
    write_report([dict(r, ctx=2048) for r in RECORDS], str(b), {"command": "b"})
    assert main(["eval", "--merge", str(a), str(b), "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert sorted({r["ctx"] for r in data["results"]}) == [1024, 2048]
    assert (out / "tradeoff.png").stat().st_size > 1000
    assert main(["eval", "--merge", str(tmp_path / "missing"), "--out", str(out)]) == 2
