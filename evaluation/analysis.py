"""ALOC against the symmetric LO scheme (the seed's first experiment; paper Fig. 5).

On the calibration window of every evaluated layer, the round-R MRSA scores A_R of each scheme
(`lapa`: only the weights LO-coded, offline; `symlo`: x LO-coded at run time too, SPEC 8) are
compared with the exact float scores q.k/sqrt(dh) of the model (after RoPE) on the causal pairs:
- relative RMS error: ||S - a A_R|| / ||S|| per head, with `a` the least-squares scale (the LO
  codes shrink magnitudes by a data-dependent factor that no threshold cares about, so the
  error of the best linear fit is what can hurt the ranking);
- per-row Spearman rank correlation of A_R with S (average ranks for ties), over sampled rows
  with at least `min_keys` keys.
The same is reported for q_hat against the exact q (the projection the PEA approximates).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from golden.peb import mrsa_scores, runtime_lo
from golden.rope import rope_table
from golden.speculation import predict_hat

from .forward import rope_cos_sin, rope_float

__all__ = ["SCHEMES", "rel_rms_error", "row_rank_correlation", "prediction_error"]

SCHEMES = ("lapa", "symlo")


def rel_rms_error(exact, approx, where):
    """||exact - a approx|| / ||exact|| on `where`, a the least-squares scale."""
    e, p = exact[where].astype(np.float64), approx[where].astype(np.float64)
    den = float(p @ p)
    a = float(e @ p) / den if den else 0.0
    return float(np.sqrt(np.sum((e - a * p) ** 2) / max(np.sum(e * e), 1e-300)))


def row_rank_correlation(exact, approx, rows, min_keys=8):
    """Mean Spearman correlation over the given causal rows t (keys s <= t)."""
    vals = []
    for t in rows:
        n = t + 1
        if n < min_keys:
            continue
        re, ra = rankdata(exact[t, :n]), rankdata(approx[t, :n])
        re -= re.mean()
        ra -= ra.mean()
        den = np.sqrt((re @ re) * (ra @ ra))
        vals.append(float(re @ ra / den) if den else 0.0)
    return float(np.mean(vals)) if vals else float("nan")


def prediction_error(ev, setting, layers=None, n_rows=48):
    """{scheme: {"score_rel_rms", "score_rank_corr", "q_hat_rel_rms"}} averaged over layers and
    heads, plus the per-layer values, for the calibration window of `ev` (an `Evaluation`)."""
    model = ev.model
    c = model.config
    layers = ev.layers if layers is None else layers
    per_layer = {s: [] for s in SCHEMES}
    for layer in layers:
        x_f = ev.calib_x[layer]
        L = x_f.shape[0]
        lw = model.layers[layer]
        cos, sin = rope_cos_sin(L, c.head_dim, c.rope_base)
        q = rope_float((x_f @ lw["wq"].T).reshape(L, c.n_heads, c.head_dim).transpose(1, 0, 2), cos, sin)
        k = rope_float((x_f @ lw["wk"].T).reshape(L, c.n_kv_heads, c.head_dim).transpose(1, 0, 2), cos, sin)
        group = c.n_heads // c.n_kv_heads
        causal = np.tril(np.ones((L, L), dtype=bool))
        rows = np.unique(np.linspace(8, L - 1, n_rows).astype(int)) if L > 8 else np.arange(L)
        for scheme in SCHEMES:
            x_q, cal, arith = ev.calibrations.quantized(layer, setting, x_f, scheme)
            table = rope_table(L, c.head_dim, arith.rope_base, arith.pos0)
            k_hat = [predict_hat(x_q, cal.wk[g], arith, arith.sh_khat, table) for g in range(c.n_kv_heads)]
            rec = {"score_rel_rms": [], "score_rank_corr": [], "q_hat_rel_rms": []}
            for h in range(c.n_heads):
                q_hat = predict_hat(x_q, cal.wq[h], arith, arith.sh_qhat, table)
                a_r = mrsa_scores(runtime_lo(q_hat), k_hat[h // group], arith.round_bits, arith.n_rounds - 1)
                s = q[h].astype(np.float64) @ k[h // group].T.astype(np.float64) / np.sqrt(c.head_dim)
                rec["score_rel_rms"].append(rel_rms_error(s, a_r, causal))
                rec["score_rank_corr"].append(row_rank_correlation(s, a_r, rows))
                rec["q_hat_rel_rms"].append(rel_rms_error(q[h], q_hat, np.ones(q_hat.shape, dtype=bool)))
            per_layer[scheme].append({"layer": layer, **{key: float(np.mean(v)) for key, v in rec.items()}})
    out = {}
    for scheme in SCHEMES:
        out[scheme] = {key: float(np.mean([r[key] for r in per_layer[scheme]]))
                       for key in ("score_rel_rms", "score_rank_corr", "q_hat_rel_rms")}
        out[scheme]["per_layer"] = per_layer[scheme]
    out["error_ratio"] = out["lapa"]["score_rel_rms"] / out["symlo"]["score_rel_rms"]
    out["setting"] = setting.to_dict()
    out["ctx"] = ev.ctx
    return out
