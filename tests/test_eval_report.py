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
        assert jobs and all(isinstance(s, Setting) and ps and (m is None or isinstance(m, Setting))
                            for s, ps, m in jobs)
    full = grid("full")
    assert [s for s, _, _ in full[:len(grid("main"))]] == [s for s, _, _ in grid("main")]
    assert {s.n_rounds for s, _, _ in full} == {1, 2, 3, 4} and {s.w_lo_mant_bits for s, _, _ in full} == {0, 1}
    preds = {p for _, ps, _ in grid("main") for p in ps}
    assert preds == {"lapa", "symlo", "sanger", "topk", "oracle"}
    assert any(m is not None for _, _, m in full)


def test_report_sections_for_baselines_analysis_and_rounds():
    sg = Setting(sg_prob=0.01)
    ref = Setting("margin", (4, 4), (1.0,), (8.0,))
    one = Setting("margin", (8,), (1.0,), (9.5,))
    base = dict(ctx=1024, windows=8, ppl=21.1, density_per_round=[0.5], density=0.5, key_needed=1.0,
                dense_macs=1000, exec_macs=800)
    recs = RECORDS + [
        dict(base, predictor="sanger", label=sg.label_for("sanger"), setting=sg.to_dict(), ppl_change=0.003,
             exec_reduction=0.12, pred_mac4=40),
        dict(base, predictor="lapa", label=ref.label, setting=ref.to_dict(), ppl_change=0.01,
             exec_reduction=0.25, pred_shift_adds=90, peb_shift_adds=30),
        dict(base, predictor="lapa", label=one.label, setting=one.to_dict(), ppl_change=0.02,
             exec_reduction=0.24, pred_shift_adds=80, peb_shift_adds=20, matched_to=ref.label),
    ]
    scheme = {"score_rel_rms": 0.2, "score_rank_corr": 0.95, "q_hat_rel_rms": 0.1}
    meta = {"analysis": {"1024": {"lapa": scheme, "symlo": dict(scheme, score_rel_rms=0.4),
                                  "error_ratio": 0.5}}}
    md = render_markdown(recs, meta)
    assert "| +0.5% | sanger | p>=0.01 | +0.30%" in md
    assert "**ratio ALOC / symmetric** | **0.50**" in md
    assert "| 1024 | 1 | 8 | 9.5 | 50.0% | +2.00%" in md and "| 1024 | 2 | 4,4 | 8 |" in md
    assert "| 4% 4-bit MACs" in md
    assert best_within(recs, 1024, "lapa", 0.05)["label"] != one.label   # matched points are not frontier points


def test_merge_combines_runs(tmp_path, capsys):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    write_report(RECORDS, str(a), {"command": "a"})
    write_report([dict(r, ctx=2048) for r in RECORDS], str(b), {"command": "b"})
    assert main(["eval", "--merge", str(a), str(b), "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert sorted({r["ctx"] for r in data["results"]}) == [1024, 2048]
    assert (out / "tradeoff.png").stat().st_size > 1000
    assert main(["eval", "--merge", str(a), str(a), "--out", str(out)]) == 0   # a job twice: one row
    assert len(json.loads((out / "report.json").read_text())["results"]) == len(RECORDS)
    assert main(["eval", "--merge", str(tmp_path / "missing"), "--out", str(out)]) == 2
