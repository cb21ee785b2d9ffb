"""Properties of SPEC 8's baseline predictors in the golden model (beside the literal comparison)."""

import numpy as np
import pytest

from golden.accounting import work_accounting
from golden.calibration import prob_to_thresh, topk_for_density, topk_from_ratio
from golden.example import example_layer
from golden.model import run_layer
from golden.speculation import initial_candidates
from golden.topk import topk_select


def _layer(predictor, L=24, **kw):
    cal = example_layer(L, 32, 8, 4, 2, seed=3, predictor=predictor, rope=True, **kw)
    return cal, run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)


def test_topk_select_any_candidate_set():
    rng = np.random.default_rng(7)
    for L in (1, 6, 33):
        for _ in range(60):
            s = rng.integers(-3, 4, size=(L, L))
            c = rng.random((L, L)) < 0.6
            k = int(rng.integers(1, L + 2))
            got = topk_select(s, c, k)
            for t in range(L):
                idx = np.flatnonzero(c[t])
                want = sorted(idx, key=lambda j: (-s[t, j], j))[:k]
                assert set(np.flatnonzero(got[t])) == set(want)


def test_dense_keeps_c1_and_saves_nothing():
    _, out = _layer("dense")
    assert np.array_equal(out["mask"], np.broadcast_to(initial_candidates(24, True), out["mask"].shape))
    assert out["exec_macs"] == out["dense_macs"] and float(out["exec_reduction"]) == 0.0
    assert not out["q_hat"].any() and not out["k_hat"].any()
    assert out["pred_shift_adds"] == out["pred_mac4"] == out["pred_compares"] == 0


def test_sanger_threshold_extremes():
    cal, _ = _layer("sanger")
    c1 = initial_candidates(24, True)
    zero = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith.replace(sg_thresh=0))
    assert np.array_equal(zero["mask"], np.broadcast_to(c1, zero["mask"].shape))
    top = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith.replace(sg_thresh=65535))
    q4, k4 = top["q_hat"].astype(np.int64), top["k_hat"].astype(np.int64)
    for h in range(4):
        sp = np.where(c1, q4[h] @ k4[h // 2].T, -10**9)
        assert np.array_equal(top["mask"][h], c1 & (sp == sp.max(axis=1, keepdims=True)))
    assert q4.min() >= -8 and q4.max() <= 7
    # k of every token is computed (the prediction needs it), v only where needed
    assert (np.abs(top["k"]).sum(axis=-1) > 0).all()
    assert not top["v"][~top["key_needed"]].any()


def test_topk_counts_and_accounting():
    cal, out = _layer("topk", topk_k=5)
    rows = np.minimum(np.arange(1, 25), 5)
    assert (out["mask"].sum(axis=-1) == rows).all()
    L, D, dh, H, Hkv, P = 24, 32, 8, 4, 2, 300
    nv = int(out["key_needed"].sum())
    want = H * L * D * dh + (Hkv * L + nv) * D * dh + H * P * dh + int(out["mask"].sum()) * dh
    assert out["exec_macs"] == want and out["pred_compares"] == H * P
    big = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith.replace(topk_k=24))
    assert big["mask"].sum() == H * P


def test_symlo_equals_lapa_on_powers_of_two():
    """LO(x) = x when every x is 0 or a signed power of two, so symlo and lapa must agree."""
    cal, _ = _layer("symlo")
    rng = np.random.default_rng(1)
    x = (rng.choice([-1, 1], size=cal.x.shape) * (1 << rng.integers(0, 7, size=cal.x.shape))
         * (rng.random(cal.x.shape) < 0.8)).astype(np.int8)
    a = run_layer(x, cal.wq, cal.wk, cal.wv, cal.arith)
    b = run_layer(x, cal.wq, cal.wk, cal.wv, cal.arith.replace(predictor="lapa"))
    for name in ("q_hat", "k_hat", "mask", "o"):
        assert np.array_equal(a[name], b[name]), name
    c = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
    d = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith.replace(predictor="lapa"))
    assert not np.array_equal(c["k_hat"], d["k_hat"])   # on general x they differ


def test_work_accounting_per_predictor():
    kw = dict(n_tokens=10, d_model=16, head_dim=4, n_heads=2, n_kv_heads=1, pairs_c1=55,
              key_needed_counts=[6], mask_nnz=[20, 30], cand_counts=[[55, 30], [55, 40]])
    base = 2 * 10 * 16 * 4
    assert work_accounting(**kw)["exec_macs"] == base + 12 * 64 + 2 * 50 * 4
    assert work_accounting(**kw, predictor="sanger")["exec_macs"] == base + 16 * 64 + 2 * 50 * 4
    assert work_accounting(**kw, predictor="sanger")["pred_mac4"] == 2 * 55 * 4
    assert work_accounting(**kw, predictor="lapa")["pred_shift_adds"] == 3 * 10 * 16 * 4 + 180 * 4
    assert work_accounting(**kw, predictor="symlo")["pred_shift_adds"] == 3 * 10 * 16 * 4 + 180 * 4


def test_baseline_calibration_helpers():
    assert prob_to_thresh(0.0) == 0 and prob_to_thresh(2e-3) == 131 and prob_to_thresh(1.0) == 65535
    assert topk_from_ratio(0.25, 1024) == 256 and topk_from_ratio(1e-9, 10) == 1
    k = topk_for_density(0.5, 100)
    rows = np.arange(1, 101)
    assert np.minimum(rows, k).sum() >= 0.5 * rows.sum() > np.minimum(rows, k - 1).sum()
    for bad in (lambda: prob_to_thresh(1.5), lambda: topk_from_ratio(0, 5), lambda: topk_for_density(2, 5)):
        with pytest.raises(ValueError):
            bad()
