"""Stimulus for the energy measurements: a slice of an exported SmolLM2 layer
(`build.py eval --export-vectors DIR` writes `layerNN.npz`) cut to a small hardware shape.

Gate-level simulation of a full SmolLM2 layer (D 576, dh 64, L >= 1024) is out of reach (the
small accelerator runs at about 100 cycles/s under Icarus), so the measurement takes the first
L tokens of x, the first D columns of x and rows of the weights, the first dh columns of the
first H query heads and Hkv KV heads: real activations and weights (their bit statistics drive
the toggles), re-calibrated at that shape by `golden.calibration.calibrate_layer` (the int8 values
taken as floats, so the tensors keep their values up to the per-tensor rescale) with the
file's RoPE and DDF settings (margin delta 8 nats per round, as `build.py eval` exports).
"""

from __future__ import annotations

import os

import numpy as np

from lapa.errors import UserError

__all__ = ["smollm2_slice", "stimulus_name"]


def smollm2_slice(path, *, seq_len, d_model, head_dim, n_heads, n_kv_heads, margin_nats=8.0):
    """LayerInputs of the slice (see the module doc)."""
    from golden.calibration import calibrate_layer
    from lapa.vectors import LayerInputs, load_vectors

    src = load_vectors(path)
    L, D, dh, H, Hkv = src.shape
    for name, want, have in (("seq_len", seq_len, L), ("d_model", d_model, D),
                             ("head_dim", head_dim, dh), ("n_heads", n_heads, H),
                             ("n_kv_heads", n_kv_heads, Hkv)):
        if not 1 <= want <= have:
            raise UserError(f"{path}: a slice with {name} = {want} needs 1..{have}")
    if n_heads % n_kv_heads:
        raise UserError(f"n_heads = {n_heads}: must be a multiple of n_kv_heads = {n_kv_heads}")
    G = H // Hkv   # keep whole groups: query head h shares KV head h // G in the source
    g_new = n_heads // n_kv_heads
    heads = [g * G + j for g in range(n_kv_heads) for j in range(g_new)]
    wq = np.asarray(src.wq).reshape(H, D, dh) if np.asarray(src.wq).ndim == 3 else np.asarray(src.wq)[None]
    wk = np.asarray(src.wk).reshape(Hkv, D, dh) if np.asarray(src.wk).ndim == 3 else np.asarray(src.wk)[None]
    wv = np.asarray(src.wv).reshape(Hkv, D, dh) if np.asarray(src.wv).ndim == 3 else np.asarray(src.wv)[None]
    a = src.arith
    cal = calibrate_layer(
        np.asarray(src.x)[:seq_len, :d_model].astype(np.float64),
        wq[heads][:, :d_model, :head_dim].astype(np.float64),
        wk[:n_kv_heads, :d_model, :head_dim].astype(np.float64),
        wv[:n_kv_heads, :d_model, :head_dim].astype(np.float64),
        causal=bool(a.causal), rope=bool(a.rope), rope_base=a.rope_base, pos0=a.pos0,
        ddf_mode="margin", round_bits=tuple(a.round_bits),
        margin_nats=(margin_nats,) * len(a.round_bits))
    return LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)


def stimulus_name(path, shape):
    L, D, dh, H, Hkv = shape
    return (f"{os.path.basename(path)} (SmolLM2-135M export) sliced to L={L} D={D} dh={dh} "
            f"H={H} Hkv={Hkv}, re-calibrated, margin delta 8")
