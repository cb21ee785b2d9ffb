"""A literal, loop-by-loop transcription of SPEC.md in plain Python integers.

Deliberately independent of golden/ (no NumPy arithmetic, no shared helpers), slow, and only
for small shapes: the vectorized golden model is checked against it.
"""

import math


def rshr(v, n):
    return v if n == 0 else (v + (1 << (n - 1))) >> n


def sat8(v):
    return max(-128, min(127, v))


def lo_value(v, mode, mant_bits):
    if v == 0:
        return 0
    sign = 1 if v > 0 else -1
    a = abs(v)
    e = a.bit_length() - 1
    bit = lambda k: (a >> k) & 1 if k >= 0 else 0
    if mant_bits == 0:
        if mode == "round" and e >= 1 and bit(e - 1):
            e += 1
        return sign * (1 << e)
    m = bit(e - 1) if e >= 1 else 0
    if mode == "round" and e >= 2 and bit(e - 2):
        if m == 0:
            m = 1
        else:
            e, m = e + 1, 0
    return sign * ((1 << e) + (m * (1 << (e - 1)) if e >= 1 else 0))


def lo_product(x, code_value):
    # sign * ((x << e) + (m ? x << (e-1) : 0)) equals x * code_value exactly
    return x * code_value


def rope_cs(p, i, dh, base):
    theta = p * float(base) ** (-2.0 * i / dh)
    return math.floor(math.cos(theta) * 2**14 + 0.5), math.floor(math.sin(theta) * 2**14 + 0.5)


def rotate(row, p, base):
    dh = len(row)
    out = list(row)
    for i in range(dh // 2):
        c, s = rope_cs(p, i, dh, base)
        a1, a2 = row[i], row[i + dh // 2]
        out[i] = sat8(rshr(a1 * c - a2 * s, 14))
        out[i + dh // 2] = sat8(rshr(a2 * c + a1 * s, 14))
    return out


def matvec_rows(x, w, fn=lambda a, b: a * b):
    D, dh = len(w), len(w[0])
    return [[sum(fn(row[i], w[i][j]) for i in range(D)) for j in range(dh)] for row in x]


def head(x, wq, wk, wv, cfg):
    """One query head with its own KV head. cfg: a dict of SPEC section 5 values."""
    L = len(x)
    R = len(cfg["round_bits"])
    lo = lambda w: [[lo_value(v, cfg["w_lo_mode"], cfg["w_lo_mant_bits"]) for v in r] for r in w]
    q_hat = [[sat8(rshr(a, cfg["sh_qhat"])) for a in r] for r in matvec_rows(x, lo(wq))]
    k_hat = [[sat8(rshr(a, cfg["sh_khat"])) for a in r] for r in matvec_rows(x, lo(wk))]
    if cfg["rope"]:
        q_hat = [rotate(r, cfg["pos0"] + t, cfg["rope_base"]) for t, r in enumerate(q_hat)]
        k_hat = [rotate(r, cfg["pos0"] + t, cfg["rope_base"]) for t, r in enumerate(k_hat)]
    qlo = [[lo_value(v, "floor", 0) for v in r] for r in q_hat]
    mask = []
    for t in range(L):
        cand = [s for s in range(L) if (s <= t or not cfg["causal"])]
        c = 0
        for r in range(R):
            c += cfg["round_bits"][r]
            A = {s: sum(qlo[t][j] * (k_hat[s][j] >> (8 - c)) for j in range(len(qlo[t]))) for s in cand}
            mx = max(A.values())
            if cfg["ddf_mode"] == "range":
                mn = min(A.values())
                phi = mx - (((mx - mn) * cfg["round_eta"][r]) >> cfg["eta_frac_bits"])
            else:
                phi = mx - cfg["round_margin"][r]
            cand = [s for s in cand if A[s] >= phi]
        mask.append(set(cand))
    needed = [any(s in mask[t] for t in range(L)) for s in range(L)]
    req = lambda acc, m, n: sat8(rshr(acc * m, n))
    q = [[req(a, cfg["m_q"], cfg["n_q"]) for a in r] for r in matvec_rows(x, wq)]
    k = [[req(a, cfg["m_k"], cfg["n_k"]) for a in r] for r in matvec_rows(x, wk)]
    v = [[req(a, cfg["m_v"], cfg["n_v"]) for a in r] for r in matvec_rows(x, wv)]
    if cfg["rope"]:
        q = [rotate(r, cfg["pos0"] + t, cfg["rope_base"]) for t, r in enumerate(q)]
        k = [rotate(r, cfg["pos0"] + t, cfg["rope_base"]) for t, r in enumerate(k)]
    dh = len(wq[0])
    k = [k[s] if needed[s] else [0] * dh for s in range(L)]
    v = [v[s] if needed[s] else [0] * dh for s in range(L)]
    F = cfg["sm_frac_bits"]
    lut = [math.floor(2**15 * 2 ** (-f / 2**F) + 0.5) for f in range(2**F)]
    probs, o = [], []
    for t in range(L):
        S = {s: sum(q[t][j] * k[s][j] for j in range(dh)) for s in mask[t]}
        mx = max(S.values())
        E = {}
        for s, val in S.items():
            u = rshr((mx - val) * cfg["sm_mult"], cfg["sm_shift"])
            p, f = u >> F, u & (2**F - 1)
            E[s] = lut[f] >> p if p < 16 else 0
        T = sum(E.values())
        Rr = 2**32 // T
        P = [min((E[s] * Rr) >> 16, 65535) if s in mask[t] else 0 for s in range(L)]
        probs.append(P)
        o.append([req(sum(P[s] * v[s][j] for s in range(L)), cfg["m_o"], cfg["n_o"]) for j in range(dh)])
    return {"q_hat": q_hat, "k_hat": k_hat, "mask": [[s in mask[t] for s in range(L)] for t in range(L)],
            "key_needed": needed, "q": q, "k": k, "v": v, "probs": probs, "o": o}
