"""Sanger baseline predictor (SPEC section 8, after Sanger, MICRO 2021).

The exact int8 `q` and `k` of SPEC 4.1-4.2 (after RoPE when `rope`), every token's, are cut to
their top 4 bits (`q4 = q >> 4`, `k4 = k >> 4`, signed -8..7); the 4-bit scores `Sp = q4 . k4` on
C_1 go through the integer softmax of SPEC 4.4 with `sg_mult` / `sg_shift` in place of
`sm_mult` / `sm_shift`; a pair is kept when its probability reaches `sg_thresh` (Q0.16) or its
score is the row's maximum (so every row keeps at least one key).
"""

from typing import NamedTuple

import numpy as np

from .intmath import exact_matmul
from .softmax import softmax_int
from .speculation import initial_candidates

__all__ = ["SangerResult", "quantize4", "sanger_scores", "sanger_mask", "sanger_kept"]

_BIG = np.int64(1) << np.int64(62)


class SangerResult(NamedTuple):
    """The mask of one query head and what led to it."""

    mask: np.ndarray    # bool [L, L]
    q4: np.ndarray      # int8 [L, dh], -8..7
    k4: np.ndarray      # int8 [L, dh], -8..7
    scores: np.ndarray  # int64 [L, L], Sp on C_1 (0 elsewhere)
    probs: np.ndarray   # uint16 [L, L], Pp on C_1 (0 elsewhere)


def quantize4(a):
    """The top 4 bits of int8 values, signed: `a >> 4` (an arithmetic shift, -8..7)."""
    return (np.asarray(a, dtype=np.int64) >> 4).astype(np.int8)


def sanger_scores(q4, k4, c1):
    """Sp[t, s] = q4[t] . k4[s] on C_1, 0 elsewhere."""
    return np.where(c1, exact_matmul(np.asarray(q4, dtype=np.int64), np.asarray(k4, dtype=np.int64).T), 0)


def sanger_mask(q, k, c1, arith) -> SangerResult:
    """M = C_1 and (Pp >= sg_thresh or Sp = the row's maximum over C_1), for one query head."""
    q4, k4 = quantize4(q), quantize4(k)
    sp = sanger_scores(q4, k4, c1)
    pp = softmax_int(sp, c1, arith.sg_mult, arith.sg_shift, arith.sm_frac_bits)
    row_max = np.where(c1, sp, -_BIG).max(axis=-1, keepdims=True)
    mask = c1 & ((pp.astype(np.int64) >= arith.sg_thresh) | (sp == row_max))
    return SangerResult(mask, q4, k4, sp, pp)


def sanger_kept(q, k, causal, arith):
    """Block-level twin of `rtl.predictors.sanger.Sanger`: one job's kept keys, per query row t in order
    (ascending key indices), from the exact q [L, dh] and k [L, dh] of one head."""
    c1 = initial_candidates(len(q), causal)
    return [np.flatnonzero(row) for row in sanger_mask(q, k, c1, arith).mask]
