"""Perplexity and SPEC 7 work of one predictor over the evaluation windows.

`Evaluation` loads the model, the tokenizer and the text once, runs the dense model over the
windows (its perplexity is the reference, and the first window's attention inputs are the
calibration data of every layer), then `run(kind, setting)` evaluates one predictor.
Perplexity = exp(mean NLL of tokens 1..ctx-1 of every window given their prefix in the window).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from lapa.errors import UserError

from .calib import LayerCalibrations
from .corpus import DEFAULT_CACHE, corpus_tokens, windows
from .forward import forward_nll
from .gguf_model import shared_model
from .predictors import INTEGER_PREDICTORS, DensePredictor, IntegerPredictor, OraclePredictor
from .tokenizer import load_tokenizer

__all__ = ["PREDICTORS", "Evaluation", "parse_layers", "Progress"]

# `dense` is always evaluated (the reference); naming it in --predictors is allowed.
PREDICTORS = ("lapa", "dense", "sanger", "topk", "symlo", "oracle")


class Progress:
    """One line per step on stderr with elapsed time (silent when quiet)."""

    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()

    def __call__(self, text):
        if not self.quiet:
            print(f"[{time.monotonic() - self.t0:7.1f}s] {text}", file=self.stream, flush=True)


def parse_layers(text, n_layers, name="--layers"):
    """'all' or '0,5,29' or '0-3' -> sorted layer indices, UserError (naming `name`) when out of range."""
    if text in (None, "all"):
        return list(range(n_layers))
    out = set()
    try:
        for part in str(text).split(","):
            a, _, b = part.strip().partition("-")
            out.update(range(int(a), int(b or a) + 1))
    except ValueError:
        raise UserError(f"{name} = {text!r}: expected 'all' or indices like 0,5,10-12") from None
    bad = sorted(i for i in out if not 0 <= i < n_layers)
    if bad or not out:
        raise UserError(f"{name} = {text!r}: layers are 0..{n_layers - 1}")
    return sorted(out)


class Evaluation:
    """Model, text windows, dense reference and per-layer calibrations for one context length."""

    def __init__(self, ctx, n_windows, layers="all", cache_dir=DEFAULT_CACHE, progress=None,
                 model=None, tokens=None):
        self.progress = progress or Progress(quiet=True)
        self.model = model or shared_model()
        c = self.model.config
        if not 2 <= ctx <= c.context_length:
            raise UserError(f"--ctx = {ctx}: must be in 2..{c.context_length} (the model's context length)")
        if n_windows < 1:
            raise UserError(f"--windows = {n_windows}: must be at least 1")
        if tokens is None:
            tokens = corpus_tokens(load_tokenizer(self.model.path), cache_dir)
        self.ctx = ctx
        self.windows = windows(tokens, ctx, n_windows)
        self.layers = parse_layers(layers, c.n_layers)
        self.calib_x = {}
        self.dense = self._run(DensePredictor(self.model, self.layers), "dense", capture_first=True)
        self.calibrations = LayerCalibrations(self.model, self.calib_x)

    def _capture(self, layer, x):
        self.calib_x[layer] = x

    def _run(self, predictor, label, capture_first=False):
        nll = []
        for i, w in enumerate(self.windows):
            self.progress(f"ctx {self.ctx} {label}: window {i + 1}/{len(self.windows)}")
            cap = self._capture if capture_first and i == 0 else None
            nll.append(forward_nll(self.model, w, mask_fn=predictor, capture=cap))
        nll = np.concatenate(nll)
        return {"ppl": float(np.exp(nll.mean())), "nll": float(nll.mean()), **predictor.stats.summary()}

    def predictor(self, kind, setting):
        if kind in INTEGER_PREDICTORS:
            return IntegerPredictor(self.model, self.calibrations, setting, kind, self.layers)
        if kind == "oracle":
            return OraclePredictor(self.model, setting, self.layers)
        raise UserError(f"predictor {kind!r}: must be one of {', '.join(PREDICTORS)}")

    def run(self, kind, setting):
        """One record: perplexity, its change against dense, densities, key_needed, work."""
        pred = self.predictor(kind, setting)
        res = self._run(pred, f"{kind} {setting.label_for(kind)}")
        res["ppl_change"] = res["ppl"] / self.dense["ppl"] - 1.0
        if getattr(pred, "topk_ks", None):
            res["topk_k"] = {"min": min(pred.topk_ks), "mean": float(np.mean(pred.topk_ks)),
                             "max": max(pred.topk_ks)}
        return {"ctx": self.ctx, "windows": len(self.windows), "predictor": kind,
                "label": setting.label_for(kind), "setting": setting.to_dict(), **res}

    def calib_density(self, setting, layers=None):
        """LAPA's mask density under `setting` on the calibration window (a sample of layers)."""
        from .predictors import integer_layer_masks

        kept = total = 0
        for layer in (layers or self.layers):
            mask, counts = integer_layer_masks(*self.calibrations.quantized(layer, setting, self.calib_x[layer]))
            kept += int(mask.sum())
            total += int(counts[:, 0].sum())
        return kept / total

    def match_margin(self, setting, target, steps=12):
        """`setting` with one margin delta for every round, chosen by bisection so that LAPA's
        density on the calibration window (every third evaluated layer) is closest to the
        density of `target`; returns (Setting, that density, the target's density)."""
        import dataclasses

        layers = self.layers[::3]
        want = self.calib_density(target, layers)
        lo, hi = 0.0, 64.0
        best = None
        for _ in range(steps):
            mid = (lo + hi) / 2
            st = dataclasses.replace(setting, ddf_mode="margin", margin_nats=(mid,) * setting.n_rounds)
            d = self.calib_density(st, layers)
            if best is None or abs(d - want) < abs(best[1] - want):
                best = (st, d)
            lo, hi = (mid, hi) if d < want else (lo, mid)
        rounded = dataclasses.replace(best[0], margin_nats=tuple(round(v, 3) for v in best[0].margin_nats))
        self.progress(f"ctx {self.ctx}: bits {','.join(map(str, setting.round_bits))} delta "
                      f"{rounded.margin_nats[0]:g} gives density {best[1]:.3f} (target {want:.3f})")
        return rounded, best[1], want

    def dense_record(self):
        return {"ctx": self.ctx, "windows": len(self.windows), "predictor": "dense",
                "label": "causal", "setting": None, "ppl_change": 0.0, **self.dense}
