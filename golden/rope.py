"""Integer rotary position table and rotation of SPEC section 3a."""

import numpy as np

from .intmath import rshr, sat8

__all__ = ["ROPE_FRAC_BITS", "rope_table", "rope_rotate"]

ROPE_FRAC_BITS = 14


def rope_table(n_tokens, head_dim, rope_base, pos0=0):
    """(c, s): int16 [n_tokens, head_dim/2] cos/sin of p * base^(-2i/dh) in Q1.14, p = pos0 + t."""
    if head_dim % 2:
        raise ValueError(f"head_dim = {head_dim}: must be even")
    p = (np.arange(n_tokens, dtype=np.float64) + float(pos0))[:, None]
    i = np.arange(head_dim // 2, dtype=np.float64)[None, :]
    theta = p * np.power(float(rope_base), -2.0 * i / float(head_dim))
    scale = float(1 << ROPE_FRAC_BITS)
    c = np.floor(np.cos(theta) * scale + 0.5).astype(np.int16)
    s = np.floor(np.sin(theta) * scale + 0.5).astype(np.int16)
    return c, s


def rope_rotate(a, c, s):
    """Rotate int8 rows a [L, dh] with the table (c, s) [L, dh/2]; returns int8."""
    a = np.asarray(a, dtype=np.int64)
    half = a.shape[-1] // 2
    a1, a2 = a[..., :half], a[..., half:]
    c = c.astype(np.int64)
    s = s.astype(np.int64)
    r1 = sat8(rshr(a1 * c - a2 * s, ROPE_FRAC_BITS))
    r2 = sat8(rshr(a2 * c + a1 * s, ROPE_FRAC_BITS))
    return np.concatenate([r1, r2], axis=-1)
