"""Speculation path of SPEC section 3: ALOC + PEA, RoPE, runtime LO, MRSA rounds with DDF, mask."""

from typing import NamedTuple

import numpy as np

from .ddf import ddf_filter
from .pea import aloc_weights, pea_project, symlo_input
from .peb import mrsa_scores, runtime_lo
from .rope import rope_rotate, rope_table

__all__ = ["initial_candidates", "predict_hat", "MRSAResult", "mrsa_rounds", "key_needed"]


def initial_candidates(n_tokens, causal):
    """C_1: s <= t when causal, else every key."""
    if causal:
        return np.tril(np.ones((n_tokens, n_tokens), dtype=bool))
    return np.ones((n_tokens, n_tokens), dtype=bool)


def predict_hat(x, w, arith, sh, table=None):
    """q_hat or k_hat of one head: ALOC weights, PEA projection, then RoPE when enabled.

    Under the `symlo` predictor x is LO-coded as well (SPEC 8), the symmetric scheme."""
    if arith.predictor == "symlo":
        x = symlo_input(x)
    hat = pea_project(x, aloc_weights(w, arith.w_lo_mode, arith.w_lo_mant_bits), sh)
    if arith.rope:
        if table is None:
            table = rope_table(hat.shape[0], hat.shape[1], arith.rope_base, arith.pos0)
        hat = rope_rotate(hat, *table)
    return hat


class MRSAResult(NamedTuple):
    """Candidate sets C_1..C_{R+1} (the last is the mask) and the scores A_1..A_R (valid on C_r)."""

    cands: list
    scores: list

    @property
    def mask(self):
        return self.cands[-1]


def mrsa_rounds(q_hat, k_hat, arith, cand=None):
    """Run every MRSA round with DDF for one query head; A_r is only meaningful on C_r."""
    qlo = runtime_lo(q_hat)
    if cand is None:
        cand = initial_candidates(q_hat.shape[0], arith.causal)
    cands, scores = [cand], []
    for r in range(arith.n_rounds):
        a = mrsa_scores(qlo, k_hat, arith.round_bits, r)
        cand = ddf_filter(a, cand, arith.ddf_mode, arith.round_eta[r], arith.eta_frac_bits,
                          arith.round_margin[r])
        scores.append(a)
        cands.append(cand)
    return MRSAResult(cands, scores)


def key_needed(masks):
    """key_needed[s] = any query row of any given mask keeps key s."""
    masks = np.asarray(masks)
    return masks.reshape(-1, masks.shape[-1]).any(axis=0)
