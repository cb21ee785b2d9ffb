"""Host-side calibration (SPEC 5): float tensors and float scales to int8 tensors and integer config."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from lapa.config import ArithConfig

from .intmath import exact_matmul, sat8
from .pea import aloc_weights, pea_accumulate, symlo_input
from .reference import reference_attention
from .speculation import initial_candidates

__all__ = ["tensor_scale", "quantize", "multiplier_shift", "pea_shift", "margin_to_int",
           "eta_to_int", "prob_to_thresh", "topk_from_ratio", "topk_for_density", "sanger_scale",
           "Calibration", "calibrate_layer"]

LOG2E = 1.0 / math.log(2.0)


def tensor_scale(t, qmax=127):
    """Symmetric per-tensor scale: max|t| / qmax (1.0 for an all-zero tensor)."""
    m = float(np.max(np.abs(t))) if np.size(t) else 0.0
    return m / qmax if m > 0 else 1.0


def quantize(t, scale):
    """int8 = sat8(round(t / scale))."""
    return sat8(np.round(np.asarray(t, dtype=np.float64) / scale))


def multiplier_shift(ratio, m_bits=16, max_shift=47):
    """(m, n) with m / 2^n ~= ratio, m in 1..2^m_bits-1, n in 0..max_shift, most precise first."""
    if not ratio > 0:
        raise ValueError(f"ratio = {ratio}: must be positive")
    m_max = (1 << m_bits) - 1
    for n in range(max_shift, -1, -1):
        m = int(math.floor(ratio * 2.0**n + 0.5))
        if m <= m_max:
            return max(m, 1), n
    return m_max, 0  # ratio too large for the multiplier: saturate


def pea_shift(acc, qmax=127):
    """Smallest rounding shift (0..31) that brings max|acc| into the int8 range."""
    peak = float(np.max(np.abs(acc))) if np.size(acc) else 0.0
    sh = 0
    while sh < 31 and peak / 2.0**sh > qmax + 0.5:
        sh += 1
    return sh


def margin_to_int(delta, head_dim, unit):
    """margin_r = floor(delta * sqrt(dh) / unit_r); a delta whose margin leaves the register range
    (0..2^31-1) is refused, not clipped."""
    if not 0.0 <= delta < math.inf:
        raise ValueError(f"margin delta = {delta}: must be a finite number >= 0")
    m = math.floor(delta * math.sqrt(head_dim) / unit)
    if m > 2**31 - 1:
        raise ValueError(f"margin delta = {delta}: {m} score units, beyond the register range 0..2^31-1")
    return int(m)


def eta_to_int(eta, eta_frac_bits):
    """eta_r = round(eta * 2^eta_frac_bits) for eta in 0..1 (refused outside)."""
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta = {eta}: must be in 0..1")
    return int(round(eta * (1 << eta_frac_bits)))


def prob_to_thresh(p):
    """sg_thresh (Q0.16) for a float probability threshold p in [0, 1] (Sanger uses 2e-3 .. 2e-2)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability threshold = {p}: must be in 0..1")
    return min(int(math.floor(p * 65536.0 + 0.5)), 65535)


def topk_from_ratio(ratio, n_tokens):
    """topk_k = the keep ratio of the longest row's keys (at least 1)."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"keep ratio = {ratio}: must be in (0, 1]")
    return max(1, min(int(math.ceil(ratio * n_tokens)), 65536))


def topk_for_density(density, n_tokens, causal=True):
    """The smallest topk_k whose mask keeps at least `density` of C_1's pairs (SPEC 8 top-k keeps
    min(|C_1[t]|, k) keys in row t)."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density = {density}: must be in 0..1")
    L = n_tokens
    rows = np.arange(1, L + 1) if causal else np.full(L, L)
    total = rows.sum()
    for k in range(1, L + 1):
        if np.minimum(rows, k).sum() >= density * total:
            return k
    return L


def sanger_scale(s_q, s_k, head_dim, sm_frac_bits):
    """(sg_mult, sg_shift) for the 4-bit scores q4 . k4: q4 = q >> 4 stands for q4 * 16 * s_q."""
    return multiplier_shift((16 * s_q) * (16 * s_k) * LOG2E * 2**sm_frac_bits / math.sqrt(head_dim))


class Calibration(NamedTuple):
    """Quantized tensors, their integer config and the float scales behind it."""

    x: np.ndarray
    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    arith: ArithConfig
    scales: dict


def calibrate_layer(x_f, wq_f, wk_f, wv_f, *, causal=True, rope=False, rope_base=10000, pos0=0,
                    ddf_mode="range", round_bits=(4, 4), eta=(0.5, 0.5), margin_nats=(4.0, 4.0),
                    eta_frac_bits=8, w_lo_mode="round", w_lo_mant_bits=0, sm_frac_bits=6,
                    predictor="lapa", sg_prob=2e-3, topk_keep=0.25, topk_k=None):
    """Quantize one layer (x [L, D], w* [H or Hkv, D, dh]) and derive every integer of SPEC 5.

    Scales are per tensor (shared by all heads, as the config holds one m_q etc.). The SPEC 8
    parameters come from a probability threshold `sg_prob` (sanger) and a keep ratio `topk_keep`
    of the L keys (topk; `topk_k` given directly wins).
    """
    wq_f, wk_f, wv_f = (np.asarray(w, dtype=np.float64) for w in (wq_f, wk_f, wv_f))
    if wq_f.ndim == 2:
        wq_f, wk_f, wv_f = wq_f[None], wk_f[None], wv_f[None]
    H, D, dh = wq_f.shape
    group = H // wk_f.shape[0]
    s = {"x": tensor_scale(x_f), "wq": tensor_scale(wq_f), "wk": tensor_scale(wk_f),
         "wv": tensor_scale(wv_f)}
    x = quantize(x_f, s["x"])
    wq, wk, wv = (quantize(w, s[n]) for w, n in ((wq_f, "wq"), (wk_f, "wk"), (wv_f, "wv")))
    xd = x.astype(np.float64) * s["x"]
    qf = np.einsum("ld,hde->hle", xd, wq.astype(np.float64) * s["wq"])
    kf = np.einsum("ld,hde->hle", xd, wk.astype(np.float64) * s["wk"])
    vf = np.einsum("ld,hde->hle", xd, wv.astype(np.float64) * s["wv"])
    s.update(q=tensor_scale(qf), k=tensor_scale(kf), v=tensor_scale(vf))
    m_q, n_q = multiplier_shift(s["x"] * s["wq"] / s["q"])
    m_k, n_k = multiplier_shift(s["x"] * s["wk"] / s["k"])
    m_v, n_v = multiplier_shift(s["x"] * s["wv"] / s["v"])

    mask = initial_candidates(x.shape[0], causal)
    o_ref = np.stack([reference_attention(qf[h], kf[h // group], vf[h // group], mask)[1]
                      for h in range(H)])
    s["o"] = tensor_scale(o_ref)
    m_o, n_o = multiplier_shift(s["v"] * 2.0**-16 / s["o"])

    lo = lambda w: aloc_weights(w, w_lo_mode, w_lo_mant_bits)
    x_pea = symlo_input(x) if predictor == "symlo" else x
    sh_qhat = max(pea_shift(pea_accumulate(x_pea, lo(wq[h]))) for h in range(H))
    sh_khat = max(pea_shift(pea_accumulate(x_pea, lo(wk[g]))) for g in range(wk.shape[0]))
    s["q_hat"] = s["x"] * s["wq"] * 2.0**sh_qhat
    s["k_hat"] = s["x"] * s["wk"] * 2.0**sh_khat

    sm_mult, sm_shift = multiplier_shift(s["q"] * s["k"] * LOG2E * 2**sm_frac_bits / math.sqrt(dh))
    cum = np.cumsum(round_bits)
    margins = tuple(margin_to_int(d, dh, s["q_hat"] * s["k_hat"] * 2.0**(8 - c))
                    for d, c in zip(margin_nats, cum))
    etas = tuple(eta_to_int(e, eta_frac_bits) for e in eta)
    sg_mult, sg_shift = sanger_scale(s["q"], s["k"], dh, sm_frac_bits)
    topk = topk_k if topk_k is not None else topk_from_ratio(topk_keep, x.shape[0])
    arith = ArithConfig(causal=causal, rope=rope, rope_base=rope_base, pos0=pos0, ddf_mode=ddf_mode,
                        round_bits=tuple(round_bits), round_eta=etas, round_margin=margins,
                        eta_frac_bits=eta_frac_bits, w_lo_mode=w_lo_mode,
                        w_lo_mant_bits=w_lo_mant_bits, sh_qhat=sh_qhat, sh_khat=sh_khat,
                        m_q=m_q, n_q=n_q, m_k=m_k, n_k=n_k, m_v=m_v, n_v=n_v, m_o=m_o, n_o=n_o,
                        sm_mult=sm_mult, sm_shift=sm_shift, sm_frac_bits=sm_frac_bits,
                        predictor=predictor, sg_mult=sg_mult, sg_shift=sg_shift,
                        sg_thresh=prob_to_thresh(sg_prob), topk_k=topk)
    return Calibration(x, wq, wk, wv, arith, s)
