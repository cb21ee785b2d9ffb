"""Integer softmax of SPEC 4.4: LUT exponent, row sum, one reciprocal per row, uint16 probabilities."""

import numpy as np

from .intmath import rshr

__all__ = ["softmax_lut", "softmax_exp", "softmax_int"]


def softmax_lut(frac_bits):
    """LUT[f] = floor(2^15 * 2^(-f / 2^F) + 0.5) for f in 0..2^F-1 (LUT[0] = 32768)."""
    f = np.arange(1 << frac_bits, dtype=np.float64)
    return np.floor(32768.0 * np.power(2.0, -f / float(1 << frac_bits)) + 0.5).astype(np.int64)


def softmax_exp(d, sm_mult, sm_shift, frac_bits):
    """E = LUT[f] >> p for a distance d >= 0 below the row maximum (0 when p >= 16)."""
    d = np.asarray(d, dtype=np.int64)
    u = rshr(d * np.int64(sm_mult), sm_shift)
    p = u >> np.int64(frac_bits)
    f = u & np.int64((1 << frac_bits) - 1)
    lut = softmax_lut(frac_bits)
    return np.where(p < 16, lut[f] >> np.minimum(p, 15), 0)


def softmax_int(scores, mask, sm_mult, sm_shift, frac_bits):
    """P[t, s] (uint16, Q0.16) over each row's kept keys; 0 off the mask."""
    scores = np.asarray(scores, dtype=np.int64)
    mask = np.asarray(mask, dtype=bool)
    big = np.int64(1) << np.int64(62)
    mx = np.where(mask, scores, -big).max(axis=-1, keepdims=True)
    d = np.where(mask, mx - scores, 0)
    e = np.where(mask, softmax_exp(d, sm_mult, sm_shift, frac_bits), 0)
    total = e.sum(axis=-1, keepdims=True)
    recip = np.where(total > 0, (np.int64(1) << np.int64(32)) // np.maximum(total, 1), 0)
    return np.minimum((e * recip) >> np.int64(16), 65535).astype(np.uint16)
