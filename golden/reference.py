"""Float reference attention (same mask, float softmax) for accuracy comparisons."""

import numpy as np

__all__ = ["float_softmax", "reference_attention"]


def float_softmax(logits, mask):
    """Softmax over each row's kept entries (float64); 0 off the mask."""
    z = np.where(mask, logits, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.where(mask, np.exp(z), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def reference_attention(q, k, v, mask):
    """softmax(q k^T / sqrt(dh)) v on the mask, all in float64: returns (probs, o)."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    p = float_softmax(q @ k.T / np.sqrt(q.shape[-1]), np.asarray(mask, dtype=bool))
    return p, p @ v
