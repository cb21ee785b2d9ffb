"""Execution path of SPEC section 4: on-demand projections, masked scores, integer softmax, A.V."""

import numpy as np

from .intmath import exact_matmul, requant
from .rope import rope_rotate
from .softmax import softmax_int

__all__ = ["project", "project_on_demand", "masked_scores", "attend"]


def project(x, w, m, n, table=None):
    """q (or k, v) = sat8(rshr((x @ w) * m, n)), then rotated when a RoPE table is given."""
    out = requant(exact_matmul(np.asarray(x, dtype=np.int64), w), m, n)
    if table is not None:
        out = rope_rotate(out, *table)
    return out


def project_on_demand(x, w, m, n, needed, table=None):
    """Rows of k or v only where `needed`; the others are never computed and reported as 0."""
    out = np.zeros((x.shape[0], w.shape[1]), dtype=np.int8)
    idx = np.flatnonzero(needed)
    if idx.size:
        sub = None if table is None else (table[0][idx], table[1][idx])
        out[idx] = project(x[idx], w, m, n, sub)
    return out


def masked_scores(q, k, mask):
    """S[t, s] = q[t] . k[s] where mask, 0 elsewhere."""
    return np.where(mask, exact_matmul(q, np.asarray(k, dtype=np.int64).T), 0)


def attend(probs, v, m_o, n_o):
    """o = sat8(rshr((P @ v) * m_o, n_o))."""
    return requant(exact_matmul(probs.astype(np.int64), v), m_o, n_o)


def execute_head(q, k, v, mask, arith):
    """Scores, integer softmax and A.V of one query head on its mask: returns (probs, o)."""
    s = masked_scores(q, k, mask)
    probs = softmax_int(s, mask, arith.sm_mult, arith.sm_shift, arith.sm_frac_bits)
    return probs, attend(probs, v, arith.m_o, arith.n_o)
