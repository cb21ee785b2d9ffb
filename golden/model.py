"""A whole layer's attention heads through the golden model (SPEC sections 3-8, grouped-query heads)."""

import numpy as np

from .accounting import work_accounting
from .execution import execute_head, project, project_on_demand
from .predictor import predict_layer
from .rope import rope_table
from .speculation import initial_candidates, key_needed

__all__ = ["run_layer", "HEAD_OUTPUTS", "KV_OUTPUTS"]

HEAD_OUTPUTS = ("q_hat", "q", "mask", "probs", "o")
KV_OUTPUTS = ("k_hat", "k", "v", "key_needed")


def run_layer(x, wq, wk, wv, arith):
    """Every output of SPEC 6 plus per-round candidate counts and the work accounting.

    `wq` is [H, D, dh] (or [D, dh] for one head), `wk`/`wv` [Hkv, D, dh]; outputs gain a
    leading head axis exactly when the weights have one. `arith.predictor` chooses how the
    masks are obtained (SPEC 8); the execution path is the same for every predictor.
    """
    x = np.asarray(x)
    single = np.asarray(wq).ndim == 2
    wq, wk, wv = (np.asarray(w)[None] if single else np.asarray(w) for w in (wq, wk, wv))
    H, D, dh = wq.shape
    Hkv = wk.shape[0]
    group = H // Hkv
    L = x.shape[0]
    table = rope_table(L, dh, arith.rope_base, arith.pos0) if arith.rope else None
    c1 = initial_candidates(L, arith.causal)

    q = np.stack([project(x, wq[h], arith.m_q, arith.n_q, table) for h in range(H)])
    pred = predict_layer(x, wq, wk, q, arith, c1, table)
    mask = pred.mask
    needed = np.stack([key_needed(mask[g * group:(g + 1) * group]) for g in range(Hkv)])
    if pred.k_all is not None:   # sanger / topk: k of every token, already computed
        k = pred.k_all
    else:
        k = np.stack([project_on_demand(x, wk[g], arith.m_k, arith.n_k, needed[g], table) for g in range(Hkv)])
    v = np.stack([project_on_demand(x, wv[g], arith.m_v, arith.n_v, needed[g]) for g in range(Hkv)])
    probs, o = zip(*(execute_head(q[h], k[h // group], v[h // group], mask[h], arith) for h in range(H)))

    out = {"q_hat": pred.q_hat, "q": q, "mask": mask, "probs": np.stack(probs), "o": np.stack(o),
           "k_hat": pred.k_hat, "k": k, "v": v, "key_needed": needed}
    if single:
        out = {name: a[0] for name, a in out.items()}
    out["round_candidates"] = pred.counts
    work = work_accounting(n_tokens=L, d_model=D, head_dim=dh, n_heads=H, n_kv_heads=Hkv,
                           pairs_c1=int(c1.sum()), key_needed_counts=needed.sum(axis=1),
                           mask_nnz=mask.sum(axis=(1, 2)), cand_counts=pred.counts, predictor=arith.predictor)
    out.update({name: np.asarray(val) for name, val in work.items()})
    return out
