"""PEB / MRSA: multi-round shift-accumulate scores of SPEC 3.3-3.4 (runtime LO of q_hat, bit slices of k_hat)."""

import numpy as np

from .intmath import exact_matmul
from .loe import lo_quantize

__all__ = ["runtime_lo", "k_round", "k_slice", "mrsa_scores", "mrsa_scores_incremental"]


def runtime_lo(q_hat):
    """qlo = sign * 2^e of q_hat (mode floor, no mantissa): the one LO conversion done at run time."""
    return lo_quantize(q_hat, "floor", 0)


def k_round(k_hat, cum_bits):
    """k_r = k_hat >> (8 - c_r), signed: the top c_r bits of k_hat."""
    return np.asarray(k_hat, dtype=np.int64) >> (8 - cum_bits)


def k_slice(k_hat, round_bits, r):
    """The bits of k_hat added in round r (0-based): signed top slice for r = 0, unsigned after."""
    c = sum(round_bits[:r + 1])
    kr = k_round(k_hat, c)
    if r == 0:
        return kr
    return kr & ((1 << round_bits[r]) - 1)


def mrsa_scores(qlo, k_hat, round_bits, r):
    """A_r = qlo @ k_r^T (direct form) for round r (0-based)."""
    return exact_matmul(qlo, k_round(k_hat, sum(round_bits[:r + 1])).T)


def mrsa_scores_incremental(qlo, k_hat, round_bits, r, prev=None):
    """A_r = (A_{r-1} << b_r) + qlo @ slice_r^T (incremental form; prev is A_{r-1})."""
    part = exact_matmul(qlo, k_slice(k_hat, round_bits, r).T)
    if r == 0:
        return part
    return (np.asarray(prev, dtype=np.int64) << round_bits[r]) + part
