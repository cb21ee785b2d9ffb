"""`eval`: the accuracy of a predictor's masks at a DDF setting on SmolLM2-135M, through
`build.py eval`'s `Evaluation` (perplexity change against dense, density, execution reduction).
A worker keeps its last `Evaluation` (model, windows, dense reference, calibrations), so the
settings of one context are not each paying for the dense run again."""

from __future__ import annotations

import os

from ..codeversion import ROOT

__all__ = ["run"]

_LAST = {}


def _evaluation(ctx, windows, layers):
    from evaluation.driver import Evaluation

    key = (ctx, windows, layers)
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = Evaluation(ctx, windows, layers, os.path.join(ROOT, "build", "cache"))
    return _LAST[key]


def run(params):
    from evaluation.settings import Setting

    ev = _evaluation(params["ctx"], params["windows"], params["layers"])
    s = params["setting"]
    setting = Setting(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()})
    if params["predictor"] == "dense":
        rec = ev.dense_record()
    else:
        rec = ev.run(params["predictor"], setting)
    out = {k: v for k, v in rec.items() if k != "setting"}
    out["dense_ppl"] = ev.dense["ppl"]
    return out
