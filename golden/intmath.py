"""Integer helpers of SPEC's notation: `rshr`, `sat8`, the requant multiply-shift, exact matmul."""

import numpy as np

__all__ = ["rshr", "sat8", "requant", "exact_matmul"]

_EXACT = 2**53


def rshr(v, n):
    """Round-half-up right shift: `(v + (1 << (n-1))) >> n` for n > 0, `v` for n = 0 (SPEC notation)."""
    v = np.asarray(v, dtype=np.int64)
    n = int(n)
    if n == 0:
        return v
    return (v + (np.int64(1) << np.int64(n - 1))) >> np.int64(n)


def sat8(v):
    """Clip to [-128, 127] and return int8."""
    return np.clip(np.asarray(v, dtype=np.int64), -128, 127).astype(np.int8)


def requant(acc, m, n):
    """SPEC 4.1 requant: `sat8(rshr(acc * m, n))`, m unsigned 16-bit, n in 0..47."""
    acc = np.asarray(acc, dtype=np.int64)
    assert np.abs(acc).max(initial=0) < 2**46, "requant accumulator exceeds the exact int64 range"
    return sat8(rshr(acc * np.int64(m), n))


def exact_matmul(a, b):
    """Integer matrix product computed in float64, exact because every partial sum stays below 2^53."""
    a = np.asarray(a)
    b = np.asarray(b)
    k = a.shape[-1]
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0)) * k
    assert bound < _EXACT, f"matmul bound {bound:.3g} is not exact in float64"
    return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
