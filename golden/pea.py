"""PEA: shift-accumulate projection of SPEC 3.2 (x times LO-coded weights, then rshr and sat8).

With the `symlo` predictor (SPEC 8, the symmetric scheme of FACT) `x` is LO-coded at run time
too (mode floor, no mantissa) before the same shift-accumulate: `symlo_input`.
"""

import numpy as np

from .intmath import exact_matmul, rshr, sat8
from .loe import lo_quantize

__all__ = ["aloc_weights", "symlo_input", "pea_accumulate", "pea_project"]


def aloc_weights(w, mode, mant_bits):
    """ALOC (SPEC 3.1), offline: replace each int8 weight by the value of its LO code."""
    return lo_quantize(w, mode, mant_bits)


def symlo_input(x):
    """`sign(x) * 2^e(x)` (0 where x = 0): the run-time LO code of x under `symlo` (SPEC 8)."""
    return lo_quantize(x, "floor", 0)


def pea_accumulate(x, w_lo):
    """`acc[t, j] = sum_i x[t, i] (*) LO[i, j]`: exact, since the LO product equals x * value."""
    return exact_matmul(np.asarray(x, dtype=np.int64), w_lo)


def pea_project(x, w_lo, sh):
    """q_hat (or k_hat) = sat8(rshr(acc, sh))."""
    return sat8(rshr(pea_accumulate(x, w_lo), sh))
