"""The predictor stage of a layer (SPEC sections 3 and 8): how each query head's mask M is obtained.

`lapa` and `symlo` run SPEC section 3 on q_hat / k_hat; `dense` keeps C_1; `sanger` and `topk`
need the exact `k` of every token (SPEC 4.2), which they hand on so that it is not computed twice.
"""

from typing import NamedTuple

import numpy as np

from .execution import project
from .sanger import sanger_mask
from .speculation import mrsa_rounds, predict_hat
from .topk import topk_mask

__all__ = ["Prediction", "predict_layer"]


class Prediction(NamedTuple):
    """Masks [H, L, L], the reported q_hat [H, L, dh] / k_hat [Hkv, L, dh], per-head candidate
    counts [H, R] (|C_1| .. |C_R|; one column, |C_1|, for predictors without rounds), and the
    exact k of every token [Hkv, L, dh] where the predictor computed it (else None)."""

    mask: np.ndarray
    q_hat: np.ndarray
    k_hat: np.ndarray
    counts: np.ndarray
    k_all: np.ndarray | None


def predict_layer(x, wq, wk, q, arith, c1, table=None) -> Prediction:
    """The mask of every query head; `q` [H, L, dh] are the exact queries of SPEC 4.1 (only
    sanger and topk read them: None is fine for the others)."""
    H, _, dh = wq.shape
    L = x.shape[0]
    Hkv = wk.shape[0]
    group = H // Hkv
    zeros = lambda n: np.zeros((n, L, dh), dtype=np.int8)
    p = arith.predictor
    if p in ("lapa", "symlo"):
        k_hat = np.stack([predict_hat(x, wk[g], arith, arith.sh_khat, table) for g in range(Hkv)])
        q_hat = np.stack([predict_hat(x, wq[h], arith, arith.sh_qhat, table) for h in range(H)])
        masks, counts = [], []
        for h in range(H):
            res = mrsa_rounds(q_hat[h], k_hat[h // group], arith, c1)
            masks.append(res.mask)
            counts.append([int(c.sum()) for c in res.cands[:-1]])
        return Prediction(np.stack(masks), q_hat, k_hat, np.asarray(counts, dtype=np.int64), None)
    one_round = np.full((H, 1), int(c1.sum()), dtype=np.int64)
    if p == "dense":
        return Prediction(np.broadcast_to(c1, (H, L, L)).copy(), zeros(H), zeros(Hkv), one_round, None)
    k_all = np.stack([project(x, wk[g], arith.m_k, arith.n_k, table) for g in range(Hkv)])
    if p == "sanger":
        res = [sanger_mask(q[h], k_all[h // group], c1, arith) for h in range(H)]
        q_hat = np.stack([r.q4 for r in res])
        k_hat = np.stack([res[g * group].k4 for g in range(Hkv)])
        return Prediction(np.stack([r.mask for r in res]), q_hat, k_hat, one_round, k_all)
    if p == "topk":
        masks = np.stack([topk_mask(q[h], k_all[h // group], c1, arith.topk_k)[0] for h in range(H)])
        return Prediction(masks, zeros(H), zeros(Hkv), one_round, k_all)
    raise ValueError(f"predictor = {p!r}: not one of SPEC 8's predictors")
