"""report.json, report.md and the trade-off PNG of an evaluation (written after every result, so
a sweep stopped early still leaves a report)."""

from __future__ import annotations

import os

from lapa.report import markdown_table, write_json, write_text_atomic

from .plot import plot_tradeoff

__all__ = ["LIMITS", "best_within", "write_report", "render_markdown"]

LIMITS = (0.005, 0.02)

_METHOD = """\
Model: SmolLM2-135M-Instruct (GGUF Q4_1, dequantized to float32), 30 layers, 9 query / 3 KV heads,
dh = 64. Text: the English Wikipedia excerpt shipped with gensim 4.4.0 (plain text by
`filter_wiki`), the first N non-overlapping windows of ctx tokens; perplexity over tokens
1..ctx-1 of every window.

For every evaluated layer and query head the mask comes from the golden model's speculation path
(SPEC section 3: ALOC weights, PEA, integer RoPE, runtime LO, MRSA rounds with DDF) on the int8
attention input and weights. Calibration (`golden.calibration.calibrate_layer`) runs once per
layer on the first window of the dense model; its scales quantize every window. The attention
values are then computed **in float** (the model's own q, k, v) on that mask, so the perplexity
change is the cost of the mask alone, not of int8 execution.

- `lapa`: the mask of the integer speculation path.
- `oracle`: the same DDF rule and per-round thresholds on the exact float scores q.k/sqrt(dh).
- `topk`: in every row the same number of keys as `lapa` keeps, chosen by exact score
  (matched density).

Density = kept pairs / causal pairs (C_1), after each round; `key_needed` = fraction of K/V rows
some query head of the KV group needs; execution reduction = 1 - execution MACs / dense MACs of
SPEC section 7 (Q/K/V projections, QK and AV of the evaluated layers; FFN and output projection
are outside SPEC 7's count); the speculation path's own shift-adds (PEA + PEB) are listed apart,
as a fraction of the dense MACs.

Reproduce: `python build.py eval --sweep full --ctx 1024,2048 --windows 8,4 --out reports/eval`
(runs sequentially; or one process per context with separate `--out` folders, then
`build.py eval --merge DIR1 DIR2 --out reports/eval`).
"""


def _pct(v, signed=False):
    return f"{100 * v:+.2f}%" if signed else f"{100 * v:.1f}%"


def best_within(records, ctx, predictor, limit):
    """The record of `predictor` at `ctx` with the largest execution reduction and ppl change <= limit."""
    ok = [r for r in records if r["ctx"] == ctx and r["predictor"] == predictor and r["ppl_change"] <= limit]
    return max(ok, key=lambda r: r["exec_reduction"], default=None)


def _row(r):
    rounds = " / ".join(_pct(d) for d in r["density_per_round"])
    pred = _pct(r["pred_shift_adds"] / r["dense_macs"]) if r["pred_shift_adds"] and r["dense_macs"] else ""
    return [r["predictor"], r["label"], f"{r['ppl']:.3f}", _pct(r["ppl_change"], True), rounds,
            _pct(r["key_needed"]), _pct(r["exec_reduction"]), pred]


_HEAD = ["predictor", "setting", "ppl", "change", "density per round", "key_needed", "exec. reduction",
         "prediction shift-adds / dense MACs"]


def _oracle_of(records, rec):
    for r in records:
        if r["ctx"] == rec["ctx"] and r["predictor"] == "oracle" and r["setting"] == rec["setting"]:
            return r
    return None


def render_markdown(records, meta):
    out = ["# LAPA accuracy on SmolLM2-135M", "", _METHOD]
    for key in ("command", "layers", "duration_s"):
        if key in meta:
            out.append(f"- {key}: `{meta[key]}`")
    for ctx in sorted({r["ctx"] for r in records}):
        recs = [r for r in records if r["ctx"] == ctx]
        dense = next((r for r in recs if r["predictor"] == "dense"), None)
        n = recs[0]["windows"]
        out += ["", f"## ctx {ctx}, {n} windows", ""]
        if dense:
            out.append(f"Dense perplexity: **{dense['ppl']:.3f}**.")
            out.append("")
        rows = []
        for limit in LIMITS:
            for pred in ("lapa", "oracle", "topk"):
                b = best_within(recs, ctx, pred, limit)
                if b is None:
                    rows.append([f"+{100 * limit:g}%", pred, "(none)", "", "", "", ""])
                    continue
                o = _oracle_of(recs, b) if pred == "lapa" else None
                ref = f" (oracle same setting: {_pct(o['ppl_change'], True)}, {_pct(o['exec_reduction'])})" if o else ""
                rows.append([f"+{100 * limit:g}%", pred, b["label"] + ref, _pct(b["ppl_change"], True),
                             _pct(b["density"]), _pct(b["key_needed"]), _pct(b["exec_reduction"])])
        out += ["Largest execution reduction within the perplexity budget:", "",
                markdown_table(["budget", "predictor", "setting", "change", "density", "key_needed",
                                "exec. reduction"], rows), "", "All results:", "",
                markdown_table(_HEAD, [_row(r) for r in recs])]
    return "\n".join(out) + "\n"


def write_report(records, out_dir, meta):
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "report.json"), {"meta": meta, "results": records})
    write_text_atomic(os.path.join(out_dir, "report.md"), render_markdown(records, meta))
    if any(r["setting"] is not None for r in records):
        plot_tradeoff(records, os.path.join(out_dir, "tradeoff.png"))
