"""Top-k baseline predictor (SPEC section 8, after SpAtten's top-k engine, HPCA 2021).

The exact scores `S = q . k` of SPEC 4.3 on all of C_1 (`k` of every token); each row keeps the
`topk_k` keys of C_1 with the largest score, ties going to the smaller key index, or all of
C_1[t] when it holds at most `topk_k` keys.
"""

import numpy as np

from .execution import masked_scores

__all__ = ["topk_select", "topk_mask"]


def topk_select(scores, cand, k):
    """Per row, the `k` candidates with the largest score (ties to the smaller index); bool like `cand`."""
    scores = np.asarray(scores, dtype=np.int64)
    cand = np.asarray(cand, dtype=bool)
    # A stable sort of -score keeps equal scores in index order; non-candidates sort last.
    key = np.where(cand, -scores, np.iinfo(np.int64).max)
    order = np.argsort(key, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(scores.shape[-1])[None, :].repeat(scores.shape[0], 0), axis=-1)
    return cand & (rank < int(k))


def topk_mask(q, k, c1, topk_k):
    """(mask, S on C_1) of one query head."""
    s = masked_scores(q, k, c1)
    return topk_select(s, c1, topk_k), s
