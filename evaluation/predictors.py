"""Attention-mask predictors and the work they leave (SPEC sections 3 and 7).

- `DensePredictor`: the causal mask (C_1) everywhere; the reference.
- `LapaPredictor`: the golden speculation path on int8 data: ALOC + PEA, integer RoPE, MRSA
  rounds with DDF (`golden.speculation.predict_hat` / `mrsa_rounds`).
- `OraclePredictor`: the same DDF rule and thresholds, round after round, on the exact float
  scores q.k/sqrt(dh) (fixed point with 16 fraction bits, through `golden.ddf.ddf_filter`).
- `TopKPredictor`: in every row, as many keys as LAPA's mask keeps there, chosen by exact score.

Each predictor is a `mask_fn` for `forward.forward_nll`; layers outside `layers` stay dense.
Per layer it records the candidate counts |C_1| .. |C_{R+1}| of every head and |key_needed| of
every KV head, which `WorkStats` turns into SPEC 7's MAC counts with `golden.accounting`.
"""

from __future__ import annotations

import numpy as np

from golden.accounting import work_accounting
from golden.calibration import eta_to_int
from golden.ddf import ddf_filter
from golden.rope import rope_table
from golden.speculation import initial_candidates, key_needed, mrsa_rounds, predict_hat

__all__ = ["WorkStats", "DensePredictor", "LapaPredictor", "OraclePredictor", "TopKPredictor",
           "ORACLE_FRAC_BITS", "lapa_layer_masks"]

ORACLE_FRAC_BITS = 16  # fixed point of the exact scores, in nats
_ETA_FRAC_BITS = 8


class WorkStats:
    """Sums over layers and windows of SPEC 7's counts and of the candidates per round."""

    def __init__(self):
        self.dense_macs = 0
        self.exec_macs = 0
        self.pred_shift_adds = 0
        self.cands = None  # sum over heads of |C_1|, ..., |C_{R+1}|
        self.key_needed = 0
        self.key_rows = 0

    def add(self, cfg, n_tokens, counts, needed_counts, predicted=True):
        """`counts` [H, R+1] = |C_1| .. |C_{R+1}| per head, `needed_counts` [Hkv]."""
        counts = np.asarray(counts, dtype=np.int64)
        work = work_accounting(n_tokens=n_tokens, d_model=cfg.d_model, head_dim=cfg.head_dim,
                               n_heads=cfg.n_heads, n_kv_heads=cfg.n_kv_heads,
                               pairs_c1=int(counts[0, 0]), key_needed_counts=needed_counts,
                               mask_nnz=counts[:, -1], cand_counts=counts[:, :-1])
        self.dense_macs += work["dense_macs"]
        self.exec_macs += work["exec_macs"]
        self.pred_shift_adds += work["pred_shift_adds"] if predicted else 0
        tot = counts.sum(axis=0)
        self.cands = tot if self.cands is None else self.cands + tot
        self.key_needed += int(np.sum(needed_counts))
        self.key_rows += len(needed_counts) * n_tokens

    def summary(self):
        c = self.cands if self.cands is not None else np.zeros(1)
        c1 = max(float(c[0]), 1.0)
        return {
            "density_per_round": [float(v) / c1 for v in c[1:]],
            "density": float(c[-1]) / c1,
            "key_needed": self.key_needed / max(self.key_rows, 1),
            "dense_macs": int(self.dense_macs),
            "exec_macs": int(self.exec_macs),
            "pred_shift_adds": int(self.pred_shift_adds),
            "exec_reduction": 1.0 - self.exec_macs / self.dense_macs if self.dense_macs else 0.0,
        }


def _needed(mask, n_kv):
    group = mask.shape[0] // n_kv
    return np.array([int(key_needed(mask[g * group:(g + 1) * group]).sum()) for g in range(n_kv)])


class _Predictor:
    name = "?"
    predicts = False  # whether the speculation path's shift-adds are spent

    def __init__(self, model, layers=None):
        self.model = model
        self.layers = set(range(model.config.n_layers) if layers is None else layers)
        self.stats = WorkStats()

    def masks(self, layer, x, q, k):
        """(bool mask [H, L, L], counts [H, R+1])."""
        raise NotImplementedError

    def __call__(self, layer, x, q, k):
        if layer not in self.layers:
            return None
        mask, counts = self.masks(layer, x, q, k)
        self.stats.add(self.model.config, x.shape[0], counts, _needed(mask, k.shape[0]),
                       predicted=self.predicts)
        return mask


class DensePredictor(_Predictor):
    """Causal attention (the dense reference); its work is SPEC 7's dense count."""

    name = "dense"

    def masks(self, layer, x, q, k):
        L = x.shape[0]
        c1 = initial_candidates(L, True)
        n = int(c1.sum())
        return np.broadcast_to(c1, (q.shape[0], L, L)), np.full((q.shape[0], 2), n)


def lapa_layer_masks(x_q, cal, arith):
    """Masks [H, L, L] and counts [H, R+1] of one layer from the golden speculation path."""
    H, _, dh = cal.wq.shape
    n_kv = cal.wk.shape[0]
    group = H // n_kv
    L = x_q.shape[0]
    table = rope_table(L, dh, arith.rope_base, arith.pos0)
    k_hat = [predict_hat(x_q, cal.wk[g], arith, arith.sh_khat, table) for g in range(n_kv)]
    c1 = initial_candidates(L, arith.causal)
    masks, counts = [], []
    for h in range(H):
        q_hat = predict_hat(x_q, cal.wq[h], arith, arith.sh_qhat, table)
        res = mrsa_rounds(q_hat, k_hat[h // group], arith, c1)
        masks.append(res.mask)
        counts.append([int(c.sum()) for c in res.cands])
    return np.stack(masks), np.asarray(counts)


class LapaPredictor(_Predictor):
    """The golden speculation path (SPEC 3) on this window's int8 attention input."""

    name = "lapa"
    predicts = True

    def __init__(self, model, calibrations, setting, layers=None):
        super().__init__(model, layers)
        self.calibrations = calibrations
        self.setting = setting

    def masks(self, layer, x, q, k):
        x_q, cal, arith = self.calibrations.quantized(layer, self.setting, x)
        return lapa_layer_masks(x_q, cal, arith)


def _exact_scores(q, k, group):
    """q.k/sqrt(dh) of every head, fixed point (ORACLE_FRAC_BITS), int64 [H, L, L]."""
    dh = q.shape[-1]
    s = np.stack([q[h].astype(np.float64) @ k[h // group].T.astype(np.float64) for h in range(q.shape[0])])
    return np.round(s * (2.0 ** ORACLE_FRAC_BITS / np.sqrt(dh))).astype(np.int64)


class OraclePredictor(_Predictor):
    """The setting's DDF rule and per-round thresholds applied to the exact float scores."""

    name = "oracle"

    def __init__(self, model, setting, layers=None):
        super().__init__(model, layers)
        self.setting = setting

    def masks(self, layer, x, q, k):
        st = self.setting
        L = x.shape[0]
        scores = _exact_scores(q, k, q.shape[0] // k.shape[0])
        c1 = initial_candidates(L, True)
        masks, counts = [], []
        for h in range(q.shape[0]):
            cand, cnt = c1, [int(c1.sum())]
            for r in range(st.n_rounds):
                cand = ddf_filter(scores[h], cand, st.ddf_mode, eta_to_int(st.eta[r], _ETA_FRAC_BITS),
                                  _ETA_FRAC_BITS, int(np.floor(st.margin_nats[r] * 2.0 ** ORACLE_FRAC_BITS)))
                cnt.append(int(cand.sum()))
            masks.append(cand)
            counts.append(cnt)
        return np.stack(masks), np.asarray(counts)


class TopKPredictor(_Predictor):
    """Per row, the k_t best keys by exact score, k_t = the number LAPA keeps in that row."""

    name = "topk"

    def __init__(self, model, calibrations, setting, layers=None):
        super().__init__(model, layers)
        self.lapa = LapaPredictor(model, calibrations, setting, layers)

    def masks(self, layer, x, q, k):
        lapa_mask, _ = self.lapa.masks(layer, x, q, k)
        L = x.shape[0]
        c1 = initial_candidates(L, True)
        scores = np.where(c1, _exact_scores(q, k, q.shape[0] // k.shape[0]), -(np.int64(1) << np.int64(62)))
        keep = lapa_mask.sum(axis=-1)  # [H, L], >= 1
        ranked = -np.sort(-scores, axis=-1)
        kth = np.take_along_axis(ranked, (keep - 1)[..., None], axis=-1)
        mask = c1 & (scores >= kth)
        n1 = int(c1.sum())
        return mask, np.stack([np.full(q.shape[0], n1), mask.sum(axis=(1, 2))], axis=1)
