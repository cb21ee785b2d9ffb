"""Top-k baseline predictor (SPEC section 8, after SpAtten's top-k engine, HPCA 2021).

The exact scores `S = q . k` of SPEC 4.3 on all of C_1 (`k` of every token); each row keeps the
`topk_k` keys of C_1 with the largest score, ties going to the smaller key index, or all of
C_1[t] when it holds at most `topk_k` keys.
"""

import numpy as np

from .execution import masked_scores

__all__ = ["topk_select", "topk_mask", "topk_kept"]


def topk_select(scores, cand, k):
    """Per row, the `k` candidates with the largest score (ties to the smaller index); bool like `cand`.

    Exact without a full sort: every candidate above the row's k-th largest score is kept, and of
    those equal to it the first ones by index, as many as are still missing."""
    scores = np.asarray(scores, dtype=np.int64)
    cand = np.asarray(cand, dtype=bool)
    n = scores.shape[-1]
    k = int(k)
    if k >= n:
        return cand.copy()
    low = np.iinfo(np.int64).min
    s = np.where(cand, scores, low)
    kth = np.partition(s, n - k, axis=-1)[..., n - k, None]      # the k-th largest per row
    above = cand & (s > kth)
    tied = cand & (s == kth)
    missing = k - above.sum(axis=-1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=-1) <= missing))


def topk_mask(q, k, c1, topk_k):
    """(mask, S on C_1) of one query head."""
    s = masked_scores(q, k, c1)
    return topk_select(s, c1, topk_k), s


def topk_kept(scores, topk_k):
    """Block-level twin of `rtl.predictors.topk.TopK`: for each row's exact scores over its candidates (a list
    of 1-D int arrays, candidate j being key j: C_1 is 0..n-1), the kept keys ascending."""
    out = []
    for row in scores:
        row = np.asarray(row, dtype=np.int64)[None, :]
        out.append(np.flatnonzero(topk_select(row, np.ones(row.shape, dtype=bool), topk_k)[0]))
    return out
