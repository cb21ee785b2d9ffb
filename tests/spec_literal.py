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


def softmax_row(S, mult, shift, F):
    """SPEC 4.4 over one row's kept keys: {s: score} -> {s: P}."""
    lut = [math.floor(2**15 * 2 ** (-f / 2**F) + 0.5) for f in range(2**F)]
    mx = max(S.values())
    E = {}
    for s, val in S.items():
        u = rshr((mx - val) * mult, shift)
        p, f = u >> F, u & (2**F - 1)
        E[s] = lut[f] >> p if p < 16 else 0
    T = sum(E.values())
    Rr = 2**32 // T
    return {s: min((E[s] * Rr) >> 16, 65535) for s in S}


def dot(a, b):
    return sum(u * v for u, v in zip(a, b))


def lo_path_hat(x, w, sh, cfg):
    """q_hat or k_hat of SPEC 3.2-3.3 (x LO-coded first under symlo, SPEC 8)."""
    if cfg["predictor"] == "symlo":
        x = [[lo_value(v, "floor", 0) for v in r] for r in x]
    lo = [[lo_value(v, cfg["w_lo_mode"], cfg["w_lo_mant_bits"]) for v in r] for r in w]
    hat = [[sat8(rshr(a, sh)) for a in r] for r in matvec_rows(x, lo)]
    if cfg["rope"]:
        hat = [rotate(r, cfg["pos0"] + t, cfg["rope_base"]) for t, r in enumerate(hat)]
    return hat


def mrsa_mask(q_hat, k_hat, cfg):
    L = len(q_hat)
    qlo = [[lo_value(v, "floor", 0) for v in r] for r in q_hat]
    mask = []
    for t in range(L):
        cand = [s for s in range(L) if (s <= t or not cfg["causal"])]
        c = 0
        for r in range(len(cfg["round_bits"])):
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
    return mask


def layer(x, wq, wk, wv, cfg):
    """Every head of a layer: wq a list of H [D][dh] matrices, wk / wv lists of Hkv.

    cfg: a dict of SPEC section 5 values, `predictor` one of lapa, dense, sanger, topk, symlo."""
    L, H, Hkv = len(x), len(wq), len(wk)
    group = H // Hkv
    dh = len(wq[0][0])
    pred = cfg.get("predictor", "lapa")
    req = lambda acc, m, n: sat8(rshr(acc * m, n))
    rot = lambda rows: [rotate(r, cfg["pos0"] + t, cfg["rope_base"]) for t, r in enumerate(rows)] \
        if cfg["rope"] else rows
    proj = lambda w, m, n: [[req(a, m, n) for a in r] for r in matvec_rows(x, w)]
    q = [rot(proj(w, cfg["m_q"], cfg["n_q"])) for w in wq]
    k_full = [rot(proj(w, cfg["m_k"], cfg["n_k"])) for w in wk]
    v_full = [proj(w, cfg["m_v"], cfg["n_v"]) for w in wv]
    c1 = [[s for s in range(L) if s <= t or not cfg["causal"]] for t in range(L)]
    zeros = [[0] * dh for _ in range(L)]
    if pred in ("lapa", "symlo"):
        q_hat = [lo_path_hat(x, w, cfg["sh_qhat"], cfg) for w in wq]
        k_hat = [lo_path_hat(x, w, cfg["sh_khat"], cfg) for w in wk]
        masks = [mrsa_mask(q_hat[h], k_hat[h // group], cfg) for h in range(H)]
    elif pred == "dense":
        q_hat, k_hat = [zeros] * H, [zeros] * Hkv
        masks = [[set(c1[t]) for t in range(L)] for _ in range(H)]
    elif pred == "sanger":
        q_hat = [[[v >> 4 for v in r] for r in q[h]] for h in range(H)]
        k_hat = [[[v >> 4 for v in r] for r in k_full[g]] for g in range(Hkv)]
        masks = []
        for h in range(H):
            m = []
            for t in range(L):
                Sp = {s: dot(q_hat[h][t], k_hat[h // group][s]) for s in c1[t]}
                Pp = softmax_row(Sp, cfg["sg_mult"], cfg["sg_shift"], cfg["sm_frac_bits"])
                top = max(Sp.values())
                m.append({s for s in c1[t] if Pp[s] >= cfg["sg_thresh"] or Sp[s] == top})
            masks.append(m)
    elif pred == "topk":
        q_hat, k_hat = [zeros] * H, [zeros] * Hkv
        masks = []
        for h in range(H):
            m = []
            for t in range(L):
                S = {s: dot(q[h][t], k_full[h // group][s]) for s in c1[t]}
                ranked = sorted(c1[t], key=lambda s: (-S[s], s))
                m.append(set(ranked[:cfg["topk_k"]]))
            masks.append(m)
    else:
        raise ValueError(pred)
    needed = [[any(s in masks[h][t] for h in range(g * group, (g + 1) * group) for t in range(L))
               for s in range(L)] for g in range(Hkv)]
    k_all = pred in ("sanger", "topk")
    k = [[k_full[g][s] if (needed[g][s] or k_all) else [0] * dh for s in range(L)] for g in range(Hkv)]
    v = [[v_full[g][s] if needed[g][s] else [0] * dh for s in range(L)] for g in range(Hkv)]
    probs, o = [], []
    for h in range(H):
        kk, vv = k[h // group], v[h // group]
        ph, oh = [], []
        for t in range(L):
            S = {s: dot(q[h][t], kk[s]) for s in masks[h][t]}
            P = softmax_row(S, cfg["sm_mult"], cfg["sm_shift"], cfg["sm_frac_bits"])
            ph.append([P.get(s, 0) for s in range(L)])
            oh.append([req(sum(P[s] * vv[s][j] for s in P), cfg["m_o"], cfg["n_o"]) for j in range(dh)])
        probs.append(ph)
        o.append(oh)
    mask = [[[s in masks[h][t] for s in range(L)] for t in range(L)] for h in range(H)]
    return {"q_hat": q_hat, "k_hat": k_hat, "mask": mask, "key_needed": needed, "q": q, "k": k, "v": v,
            "probs": probs, "o": o}


def head(x, wq, wk, wv, cfg):
    """One query head with its own KV head (outputs without the head axis)."""
    return {name: val[0] for name, val in layer(x, [wq], [wk], [wv], cfg).items()}
