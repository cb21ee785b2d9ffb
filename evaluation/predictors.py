"""Attention-mask predictors and the work they leave (SPEC sections 3, 7 and 8).

- `DensePredictor`: the causal mask (C_1) everywhere; the reference.
- `IntegerPredictor`: one of SPEC 8's predictors (lapa, sanger, topk, symlo) on the window's
  int8 data, through the golden model's own `golden.predictor.predict_layer`: lapa and symlo
  run the speculation path (ALOC + PEA, integer RoPE, MRSA rounds with DDF; symlo LO-codes x as
  well), sanger thresholds the integer softmax of 4-bit exact scores, topk keeps the `topk_k`
  best exact integer scores per row (`topk_k` from a keep ratio, or matched layer by layer to
  LAPA's density under the same DDF setting).
- `OraclePredictor`: the setting's DDF rule and per-round thresholds on the exact float
  scores q.k/sqrt(dh) (fixed point with 16 fraction bits, through `golden.ddf.ddf_filter`).

Each predictor is a `mask_fn` for `forward.forward_nll`; layers outside `layers` stay dense.
Per layer it records the candidate counts |C_1| .. |C_{R+1}| of every head and |key_needed| of
every KV head, which `WorkStats` turns into SPEC 7 / 8's counts with `golden.accounting`.
"""

from __future__ import annotations

import numpy as np

from golden.accounting import work_accounting
from golden.calibration import eta_to_int, topk_for_density, topk_from_ratio
from golden.ddf import ddf_filter
from golden.execution import project
from golden.predictor import predict_layer
from golden.rope import rope_table
from golden.speculation import initial_candidates, key_needed

__all__ = ["WorkStats", "DensePredictor", "IntegerPredictor", "OraclePredictor", "ORACLE_FRAC_BITS",
           "INTEGER_PREDICTORS", "integer_layer_masks"]

ORACLE_FRAC_BITS = 16  # fixed point of the exact scores, in nats
_ETA_FRAC_BITS = 8
INTEGER_PREDICTORS = ("lapa", "sanger", "topk", "symlo")
_PRED_KEYS = ("pred_shift_adds", "pred_mac4", "pred_exps", "pred_compares")


class WorkStats:
    """Sums over layers and windows of SPEC 7 / 8's counts and of the candidates per round."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.dense_macs = 0
        self.exec_macs = 0
        self.pred = dict.fromkeys(_PRED_KEYS, 0)
        self.peb_shift_adds = 0
        self.peb_bit_ops = 0   # sum_r |C_r| * dh * b_r: PEB work weighted by the k_hat bits of each round
        self.cands = None  # sum over heads of |C_1|, ..., |C_{R+1}|
        self.key_needed = 0
        self.key_rows = 0

    def add(self, cfg, n_tokens, counts, needed_counts, round_bits=None):
        """`counts` [H, R+1] = |C_1| .. |C_{R+1}| per head, `needed_counts` [Hkv]; `round_bits`
        of the section-3 predictors."""
        counts = np.asarray(counts, dtype=np.int64)
        # The oracle's exact scores are free: its execution is counted as lapa's, its prediction not.
        acct = "lapa" if self.predictor == "oracle" else self.predictor
        work = work_accounting(n_tokens=n_tokens, d_model=cfg.d_model, head_dim=cfg.head_dim,
                               n_heads=cfg.n_heads, n_kv_heads=cfg.n_kv_heads,
                               pairs_c1=int(counts[0, 0]), key_needed_counts=needed_counts,
                               mask_nnz=counts[:, -1], cand_counts=counts[:, :-1], predictor=acct)
        self.dense_macs += work["dense_macs"]
        self.exec_macs += work["exec_macs"]
        if self.predictor != "oracle":
            for key in _PRED_KEYS:
                self.pred[key] += work[key]
            if acct in ("lapa", "symlo"):
                self.peb_shift_adds += int(counts[:, :-1].sum()) * cfg.head_dim
                self.peb_bit_ops += int((counts[:, :-1].sum(axis=0) * np.asarray(round_bits)).sum()) * cfg.head_dim
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
            **{k: int(v) for k, v in self.pred.items()},
            "peb_shift_adds": int(self.peb_shift_adds),
            "peb_bit_ops": int(self.peb_bit_ops),
            "exec_reduction": 1.0 - self.exec_macs / self.dense_macs if self.dense_macs else 0.0,
        }


def _needed(mask, n_kv):
    group = mask.shape[0] // n_kv
    return np.array([int(key_needed(mask[g * group:(g + 1) * group]).sum()) for g in range(n_kv)])


class _Predictor:
    name = "?"

    def __init__(self, model, layers=None):
        self.model = model
        self.layers = set(range(model.config.n_layers) if layers is None else layers)
        self.stats = WorkStats(self.name)

    def masks(self, layer, x, q, k):
        """(bool mask [H, L, L], counts [H, R+1])."""
        raise NotImplementedError

    def __call__(self, layer, x, q, k):
        if layer not in self.layers:
            return None
        mask, counts = self.masks(layer, x, q, k)
        self.stats.add(self.model.config, x.shape[0], counts, _needed(mask, k.shape[0]),
                       getattr(getattr(self, "setting", None), "round_bits", None))
        return mask


class DensePredictor(_Predictor):
    """Causal attention (the dense reference); its work is SPEC 7's dense count."""

    name = "dense"

    def masks(self, layer, x, q, k):
        L = x.shape[0]
        c1 = initial_candidates(L, True)
        n = int(c1.sum())
        return np.broadcast_to(c1, (q.shape[0], L, L)), np.full((q.shape[0], 2), n)


def integer_layer_masks(x_q, cal, arith):
    """Masks [H, L, L] and counts [H, R+1] (|C_1| .. |C_R|, nnz(M)) of one layer from the golden
    model's predictor stage (SPEC 3 / 8) on int8 data."""
    H, _, dh = cal.wq.shape
    L = x_q.shape[0]
    table = rope_table(L, dh, arith.rope_base, arith.pos0) if arith.rope else None
    q = None
    if arith.predictor in ("sanger", "topk"):
        q = np.stack([project(x_q, cal.wq[h], arith.m_q, arith.n_q, table) for h in range(H)])
    pred = predict_layer(x_q, cal.wq, cal.wk, q, arith, initial_candidates(L, arith.causal), table)
    counts = np.concatenate([pred.counts, pred.mask.sum(axis=(1, 2))[:, None]], axis=1)
    return pred.mask, counts


class IntegerPredictor(_Predictor):
    """A SPEC 8 predictor on this window's int8 attention input (golden model, bit-exact)."""

    def __init__(self, model, calibrations, setting, kind, layers=None):
        if kind not in INTEGER_PREDICTORS:
            raise ValueError(f"kind = {kind!r}: must be one of {INTEGER_PREDICTORS}")
        self.name = kind
        super().__init__(model, layers)
        self.calibrations = calibrations
        self.setting = setting
        self.topk_ks = []   # the topk_k chosen per (window, layer), for the report

    def arith(self, layer, x):
        """(int8 x, calibration, ArithConfig) of this layer and window."""
        x_q, cal, arith = self.calibrations.quantized(layer, self.setting, x, self.name)
        if self.name == "topk":
            L = x.shape[0]
            if self.setting.topk_keep is not None:
                k = topk_from_ratio(self.setting.topk_keep, L)
            else:
                _, lo_cal, lo_arith = self.calibrations.quantized(layer, self.setting, x, "lapa")
                mask, _ = integer_layer_masks(x_q, lo_cal, lo_arith)
                c1 = initial_candidates(L, True)
                k = topk_for_density(float(mask.sum()) / (mask.shape[0] * c1.sum()), L)
            self.topk_ks.append(k)
            arith = arith.replace(topk_k=k)
        return x_q, cal, arith

    def masks(self, layer, x, q, k):
        return integer_layer_masks(*self.arith(layer, x))


def exact_scores(q, k, group):
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
        scores = exact_scores(q, k, q.shape[0] // k.shape[0])
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
