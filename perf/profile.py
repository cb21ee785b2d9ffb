"""What the cycle model needs to know of a layer: its shape and, per query head and row, the
candidate counts of every MRSA round, where in each round's list its survivors sit (the DDF
hands them to the next round as its scan reaches them), the kept keys (mask rows) and, per KV
head, key_needed.

From a vector file's golden outputs (`mask`, `key_needed`, and `q_hat` / `k_hat` for the
per-round counts; missing outputs are computed by the golden model's speculation path only,
which is what SPEC 3 needs), or from any masks (the `dense` predictor: every pair of C_1)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Profile", "profile_from_outputs", "profile_from_inputs", "survivor_positions"]


class Profile(NamedTuple):
    shape: tuple                # (L, D, dh, H, Hkv)
    causal: bool
    rope: bool
    predictor: str
    cands: np.ndarray           # [H, R, L] |C_r[t]|, r = 1..R (R = 0 columns without speculation)
    mask: np.ndarray            # [H, L, L] bool
    key_needed: np.ndarray      # [Hkv, L] bool
    # positions[h][r] (r < R - 1): for every query row in order, the positions (0-based, in list
    # order = ascending key) in round r+1's list C_{r+1}[t] of its survivors C_{r+2}[t]
    positions: tuple = ()
    topk_k: int = 0             # topk: keys kept per row (SPEC 8)
    passes: int = 0             # topk: the engine's radix search passes (hardware: score width / 4)

    @property
    def n_rounds(self):
        return self.cands.shape[1]

    @property
    def nnz(self):
        return self.mask.sum(axis=2)       # [H, L]


def _heads(a, n):
    a = np.asarray(a)
    return a if a.ndim == n + 1 else a[None]


def survivor_positions(cands, survivors):
    """Positions in each row's list `cands` ([L, L] bool, listed in ascending key order) of the
    keys of `survivors` (a subset), row after row: an int32 vector of survivors.sum() entries."""
    pos = np.cumsum(cands, axis=1, dtype=np.int32) - 1
    return pos[survivors]


def _speculate(q_hat, k_hat, arith, group):
    """([H, L, L] masks, [H, R, L] candidate counts per round, survivor positions per head and
    round, as `Profile.positions`) from the golden speculation path."""
    from golden.speculation import initial_candidates, mrsa_rounds

    H, L = q_hat.shape[0], q_hat.shape[1]
    c1 = initial_candidates(L, arith.causal)
    counts = np.zeros((H, arith.n_rounds, L), dtype=np.int64)
    masks = np.zeros((H, L, L), dtype=bool)
    positions = []
    for h in range(H):
        res = mrsa_rounds(q_hat[h], k_hat[h // group], arith, c1)
        masks[h] = res.mask
        for r in range(arith.n_rounds):
            counts[h, r] = res.cands[r].sum(axis=1)
        positions.append(tuple(survivor_positions(res.cands[r], res.cands[r + 1])
                               for r in range(arith.n_rounds - 1)))
    return masks, counts, tuple(positions)


def profile_from_outputs(inputs, out) -> Profile:
    """A profile from `LayerInputs` and its golden outputs (`mask`, `key_needed`, `q_hat`,
    `k_hat`); with predictor `dense` only the shape matters (no speculation unit)."""
    L, D, dh, H, Hkv = inputs.shape
    arith = inputs.arith
    mask = _heads(out["mask"], 2).astype(bool)
    needed = _heads(out["key_needed"], 1).astype(bool)
    positions = ()
    if arith.predictor in ("dense", "sanger", "topk"):
        cands = np.zeros((H, 0, L), dtype=np.int64)
    elif arith.predictor in ("lapa", "symlo"):
        _, cands, positions = _speculate(_heads(out["q_hat"], 2), _heads(out["k_hat"], 2), arith, H // Hkv)
    else:
        raise ValueError(f"predictor = {arith.predictor!r}: no hardware schedule for it")
    return Profile(inputs.shape, bool(arith.causal), bool(arith.rope), arith.predictor, cands, mask, needed,
                   positions, **_exact_fields(arith))


def _exact_fields(arith):
    """topk's own schedule parameters (the engine's passes come from the hardware's score width,
    filled in by `perf.model.predict`)."""
    return {"topk_k": int(arith.topk_k)} if arith.predictor == "topk" else {}


def profile_from_inputs(inputs) -> Profile:
    """A profile of a vector file without outputs: the golden model's speculation path only (SPEC 3:
    q_hat, k_hat, the MRSA rounds; the execution path of SPEC 4 does not change the schedule)."""
    from golden.speculation import initial_candidates, key_needed, predict_hat

    arith = inputs.arith
    L, D, dh, H, Hkv = inputs.shape
    group = H // Hkv
    positions = ()
    if arith.predictor == "dense":
        c1 = initial_candidates(L, arith.causal)
        masks = np.broadcast_to(c1, (H, L, L))
        cands = np.zeros((H, 0, L), dtype=np.int64)
    elif arith.predictor in ("lapa", "symlo"):
        from golden.rope import rope_table

        wq, wk = _heads(inputs.wq, 2), _heads(inputs.wk, 2)
        x = np.asarray(inputs.x)
        table = rope_table(L, dh, arith.rope_base, arith.pos0) if arith.rope else None
        k_hat = np.stack([predict_hat(x, wk[g], arith, arith.sh_khat, table) for g in range(Hkv)])
        q_hat = np.stack([predict_hat(x, wq[h], arith, arith.sh_qhat, table) for h in range(H)])
        masks, cands, positions = _speculate(q_hat, k_hat, arith, group)
    elif arith.predictor in ("sanger", "topk"):   # their masks need the exact q / k: the golden layer
        from golden.model import run_layer

        masks = np.asarray(run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, arith)["mask"]).reshape(H, L, L)
        cands = np.zeros((H, 0, L), dtype=np.int64)
    else:
        raise ValueError(f"predictor = {arith.predictor!r}: no hardware schedule for it")
    needed = np.stack([key_needed(masks[g * group:(g + 1) * group]) for g in range(Hkv)])
    return Profile(inputs.shape, bool(arith.causal), bool(arith.rope), arith.predictor, cands, masks, needed,
                   positions, **_exact_fields(arith))
