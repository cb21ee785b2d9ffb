"""DDF threshold unit of SPEC 3.5: per-row max (and min), threshold phi, and the surviving candidates."""

import numpy as np

__all__ = ["ddf_threshold", "ddf_filter"]

_BIG = np.int64(1) << np.int64(62)


def ddf_threshold(scores, cand, mode, eta=0, eta_frac_bits=8, margin=0):
    """phi per row over the candidates `cand` (bool, same shape as scores); rows without candidates get +inf."""
    scores = np.asarray(scores, dtype=np.int64)
    mx = np.where(cand, scores, -_BIG).max(axis=-1)
    if mode == "range":
        mn = np.where(cand, scores, _BIG).min(axis=-1)
        phi = mx - (((mx - mn) * np.int64(eta)) >> np.int64(eta_frac_bits))
    elif mode == "margin":
        phi = mx - np.int64(margin)
    else:
        raise ValueError(f"ddf_mode = {mode!r}: must be 'range' or 'margin'")
    return np.where(cand.any(axis=-1), phi, _BIG)


def ddf_filter(scores, cand, mode, eta=0, eta_frac_bits=8, margin=0):
    """C_{r+1} = {s in C_r : A_r[t, s] >= phi[t]}."""
    phi = ddf_threshold(scores, cand, mode, eta, eta_frac_bits, margin)
    return cand & (np.asarray(scores, dtype=np.int64) >= phi[..., None])
