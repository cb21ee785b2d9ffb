"""Random but well-scaled example layers (float tensors with attention structure, then calibrated)."""

import numpy as np

from .calibration import calibrate_layer

__all__ = ["example_floats", "example_layer"]


def example_floats(seq_len, d_model, head_dim, n_heads, n_kv_heads, seed=0):
    """Float x [L, D] and weights with a few dominant directions, so attention is peaked, not flat."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq_len, d_model))
    # A low-rank component shared by queries and keys makes some pairs score much higher.
    basis = rng.standard_normal((d_model, 4))
    x += 2.0 * rng.standard_normal((seq_len, 4)) @ basis.T / np.sqrt(4)
    std = 1.0 / np.sqrt(d_model)
    shared = rng.standard_normal((n_kv_heads, d_model, head_dim)) * std
    wk = shared + 0.5 * rng.standard_normal((n_kv_heads, d_model, head_dim)) * std
    group = n_heads // n_kv_heads
    wq = np.repeat(shared, group, axis=0) * 2.0 + rng.standard_normal((n_heads, d_model, head_dim)) * std
    wv = rng.standard_normal((n_kv_heads, d_model, head_dim)) * std
    return x, wq, wk, wv


def example_layer(seq_len=128, d_model=576, head_dim=64, n_heads=9, n_kv_heads=3, seed=0, **calib):
    """Calibrated int8 layer (a `Calibration`) for the given shape; `calib` goes to calibrate_layer."""
    return calibrate_layer(*example_floats(seq_len, d_model, head_dim, n_heads, n_kv_heads, seed), **calib)
