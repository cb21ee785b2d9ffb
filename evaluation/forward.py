"""The model's float32 forward pass in NumPy, with a hook that chooses each layer's attention mask.

Llama-style: RMSNorm, grouped-query attention with rotate-half RoPE (the pairing (i, i + dh/2)
of SPEC section 3a), SwiGLU FFN, tied output embedding. Attention on a mask is the float
softmax over the kept keys of each row ("compute attention on that mask").
"""

from __future__ import annotations

import numpy as np

__all__ = ["rms_norm", "rope_cos_sin", "rope_float", "masked_attention", "forward_nll", "next_token"]

_LOGIT_CHUNK = 256


def rms_norm(h, w, eps):
    h = h.astype(np.float32)
    return (h / np.sqrt(np.mean(h * h, axis=-1, keepdims=True) + eps)) * w


def rope_cos_sin(n_tokens, head_dim, base):
    """cos, sin [L, dh/2] of p * base^(-2i/dh), the float angles behind SPEC 3a's integer table."""
    p = np.arange(n_tokens, dtype=np.float64)[:, None]
    i = np.arange(head_dim // 2, dtype=np.float64)[None, :]
    theta = p * np.power(float(base), -2.0 * i / head_dim)
    return np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)


def rope_float(a, cos, sin):
    """Rotate [..., L, dh] rows: a'[i] = a1 c - a2 s, a'[i + dh/2] = a2 c + a1 s."""
    half = a.shape[-1] // 2
    a1, a2 = a[..., :half], a[..., half:]
    return np.concatenate([a1 * cos - a2 * sin, a2 * cos + a1 * sin], axis=-1)


def masked_attention(q, k, v, mask):
    """Float softmax(q k^T / sqrt(dh)) v per query head over the kept keys; q [H, L, dh], k/v [Hkv, L, dh],
    mask bool [H, L, L] (every row keeps at least one key)."""
    H, L, dh = q.shape
    group = H // k.shape[0]
    out = np.empty_like(q)
    for g in range(k.shape[0]):
        sl = slice(g * group, (g + 1) * group)
        s = np.matmul(q[sl], k[g].T) * np.float32(1.0 / np.sqrt(dh))
        s = np.where(mask[sl], s, np.float32(-np.inf))
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        out[sl] = np.matmul(s, v[g])
    return out


def _hidden(model, tokens, mask_fn, capture):
    c = model.config
    L = len(tokens)
    H, Hkv, dh = c.n_heads, c.n_kv_heads, c.head_dim
    cos, sin = rope_cos_sin(L, dh, c.rope_base)
    causal = np.tril(np.ones((L, L), dtype=bool))
    h = model.embed[np.asarray(tokens)].astype(np.float32)
    for i, lw in enumerate(model.layers):
        x = rms_norm(h, lw["attn_norm"], c.norm_eps)
        if capture is not None:
            capture(i, x)
        q = rope_float((x @ lw["wq"].T).reshape(L, H, dh).transpose(1, 0, 2), cos, sin)
        k = rope_float((x @ lw["wk"].T).reshape(L, Hkv, dh).transpose(1, 0, 2), cos, sin)
        v = (x @ lw["wv"].T).reshape(L, Hkv, dh).transpose(1, 0, 2)
        mask = mask_fn(i, x, q, k) if mask_fn is not None else None
        if mask is None:
            mask = np.broadcast_to(causal, (H, L, L))
        att = masked_attention(q, k, v, mask)
        h = h + att.transpose(1, 0, 2).reshape(L, H * dh) @ lw["wo"].T
        x2 = rms_norm(h, lw["ffn_norm"], c.norm_eps)
        gate = x2 @ lw["w_gate"].T
        h = h + ((gate / (1.0 + np.exp(-gate))) * (x2 @ lw["w_up"].T)) @ lw["w_down"].T
    return rms_norm(h, model.out_norm, c.norm_eps)


def forward_nll(model, tokens, mask_fn=None, capture=None):
    """Negative log-likelihood (nats, float64) of tokens[1:] given their prefix within `tokens`.

    `mask_fn(layer, x, q, k)` returns the bool mask [H, L, L] of that layer (None: causal, dense);
    `x` is the attention input (after RMSNorm), `q`/`k` the float heads after RoPE.
    `capture(layer, x)` sees every attention input (calibration data).
    """
    hn = _hidden(model, tokens, mask_fn, capture)
    tokens = np.asarray(tokens)
    nll = np.empty(len(tokens) - 1, dtype=np.float64)
    for a in range(0, len(tokens) - 1, _LOGIT_CHUNK):
        b = min(a + _LOGIT_CHUNK, len(tokens) - 1)
        logits = (hn[a:b] @ model.embed.T).astype(np.float64)
        mx = logits.max(axis=-1)
        lse = mx + np.log(np.exp(logits - mx[:, None]).sum(axis=-1))
        nll[a:b] = lse - logits[np.arange(b - a), tokens[a + 1:b + 1]]
    return nll


def next_token(model, tokens):
    """Greedy next token after `tokens` (dense attention)."""
    hn = _hidden(model, tokens, None, None)
    return int(np.argmax(hn[-1] @ model.embed.T))
