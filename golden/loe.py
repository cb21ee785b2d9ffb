"""Leading-one (LO) code of SPEC section 2: encoder and the value a code stands for."""

from typing import NamedTuple

import numpy as np

__all__ = ["LOCode", "lo_encode", "lo_value", "lo_quantize", "LO_EXP_MAX"]

LO_EXP_MAX = 7  # |v| <= 128 never rounds past 2^7, in either mode


class LOCode(NamedTuple):
    """An LO code per element: sign in {-1, 0, 1}, zero flag, exponent e (0..7), mantissa bit m."""

    sign: np.ndarray
    zero: np.ndarray
    e: np.ndarray
    m: np.ndarray


def _bit(a, k):
    """Bit k of a (0 where k < 0)."""
    return np.where(k >= 0, (a >> np.maximum(k, 0)) & 1, 0)


def lo_encode(v, mode="floor", mant_bits=0) -> LOCode:
    """LOE: encode int8 values (SPEC 2) in mode `floor`/`round` with 0 or 1 mantissa bit."""
    if mode not in ("floor", "round"):
        raise ValueError(f"mode = {mode!r}: must be 'floor' or 'round'")
    if mant_bits not in (0, 1):
        raise ValueError(f"mant_bits = {mant_bits!r}: must be 0 or 1")
    v = np.asarray(v, dtype=np.int64)
    zero = v == 0
    sign = np.sign(v)
    a = np.abs(v)
    e = np.where(zero, 0, np.floor(np.log2(np.maximum(a, 1))).astype(np.int64))
    # guard float log2 for exact powers of two (it is exact there, but be explicit)
    e = np.where((a >> e) >= 2, e + 1, e)
    e = np.where((a >> e) == 0, e - 1, e)
    e = np.where(zero, 0, e)
    if mant_bits == 0:
        m = np.zeros_like(a)
        if mode == "round":
            e = e + ((e >= 1) & (_bit(a, e - 1) == 1))
    else:
        m = np.where(e >= 1, _bit(a, e - 1), 0)
        if mode == "round":
            up = (e >= 2) & (_bit(a, e - 2) == 1)
            carry = up & (m == 1)
            m = np.where(up, 1 - m, m)
            e = e + carry
    e = np.where(zero, 0, e)
    m = np.where(zero, 0, m)
    return LOCode(sign.astype(np.int8), zero, e.astype(np.uint8), m.astype(np.uint8))


def lo_value(code: LOCode):
    """The integer an LO code stands for: sign * (2^e + m * 2^(e-1))."""
    e = code.e.astype(np.int64)
    m = code.m.astype(np.int64)
    mag = (np.int64(1) << e) + np.where(m == 1, (np.int64(1) << np.maximum(e - 1, 0)), 0)
    return np.where(code.zero, 0, code.sign.astype(np.int64) * mag)


def lo_quantize(v, mode="floor", mant_bits=0):
    """Shorthand: the LO value of every element of v (what ALOC replaces a weight with)."""
    return lo_value(lo_encode(v, mode, mant_bits))
