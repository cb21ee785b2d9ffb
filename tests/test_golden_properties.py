"""Golden model: corner cases of DDF, softmax, RoPE and grouped-query heads, and property tests."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from golden.ddf import ddf_filter, ddf_threshold
from golden.example import example_layer
from golden.model import run_layer
from golden.peb import mrsa_scores, mrsa_scores_incremental, runtime_lo
from golden.rope import rope_rotate, rope_table
from golden.softmax import softmax_int, softmax_lut
from golden.speculation import initial_candidates, mrsa_rounds

from .spec_literal import head as literal_head

# ---- DDF corners -------------------------------------------------------------------------

def test_ddf_single_candidate_survives():
    scores = np.array([[5, -100, 7]])
    cand = np.array([[False, True, False]])
    for mode in ("range", "margin"):
        assert ddf_filter(scores, cand, mode, eta=0, margin=0).tolist() == cand.tolist()


def test_ddf_all_equal_scores_keep_everything():
    scores = np.full((3, 6), -42)
    cand = np.ones((3, 6), bool)
    assert ddf_filter(scores, cand, "range", eta=0, eta_frac_bits=8).all()
    assert ddf_filter(scores, cand, "margin", margin=0).all()


def test_ddf_eta_zero_keeps_only_maxima_eta_one_keeps_all():
    scores = np.array([[1, 9, 3, 9, -4]])
    cand = np.ones_like(scores, bool)
    assert ddf_filter(scores, cand, "range", eta=0, eta_frac_bits=4).tolist() == [[False, True, False, True, False]]
    assert ddf_filter(scores, cand, "range", eta=16, eta_frac_bits=4).all()
    # eta = 1/2: phi = 9 - ((13 * 8) >> 4) = 9 - 6 = 3
    assert ddf_threshold(scores, cand, "range", eta=8, eta_frac_bits=4).tolist() == [3]
    assert ddf_filter(scores, cand, "range", eta=8, eta_frac_bits=4).tolist() == [[False, True, True, True, False]]


def test_ddf_margin_zero_and_margin_floor_shift():
    scores = np.array([[10, 4, 10, 7]])
    cand = np.array([[True, True, True, False]])
    assert ddf_filter(scores, cand, "margin", margin=0).tolist() == [[True, False, True, False]]
    assert ddf_filter(scores, cand, "margin", margin=6).tolist() == [[True, True, True, False]]
    # range with negative spans floors toward -inf: mx=-3, mn=-8, eta=1/3 of 2^2 -> (5*1)>>2 = 1
    s2 = np.array([[-3, -8, -4]])
    assert ddf_threshold(s2, np.ones_like(s2, bool), "range", eta=1, eta_frac_bits=2).tolist() == [-4]


# ---- softmax ----------------------------------------------------------------------------

def test_softmax_lut_values():
    assert softmax_lut(1).tolist() == [32768, 23170]
    lut = softmax_lut(4)
    assert lut[0] == 32768 and lut[8] == 23170 and len(lut) == 16
    assert lut[1] == math.floor(32768 * 2 ** (-1 / 16) + 0.5) == 31379
    assert (np.diff(softmax_lut(8)) <= 0).all() and softmax_lut(8)[-1] == 16428


def test_softmax_single_key_is_65535_and_underflow_is_zero():
    s = np.array([[100, 5, -100000]])
    m = np.array([[True, False, False]])
    assert softmax_int(s, m, 1, 0, 4).tolist() == [[65535, 0, 0]]
    p = softmax_int(s, np.ones_like(m), 65535, 0, 1)
    assert p[0, 0] == 65535 and p[0, 2] == 0


# ---- RoPE ---------------------------------------------------------------------------------

def test_rope_table_symmetry_and_position_zero():
    c, s = rope_table(64, 16, 10000)
    assert (c[0] == 16384).all() and (s[0] == 0).all()
    cn, sn = rope_table(1, 16, 10000, pos0=0)
    assert np.array_equal(cn, c[:1])
    # cos^2 + sin^2 = 2^28 up to rounding of each entry
    r = c.astype(np.int64) ** 2 + s.astype(np.int64) ** 2
    assert np.abs(r - 2**28).max() <= 2 * 16384 + 1
    # pair i = 0 turns by exactly p radians: its table is cos(p), sin(p)
    p = np.arange(64)
    assert np.array_equal(c[:, 0], np.floor(np.cos(p) * 16384 + 0.5).astype(np.int16))
    assert np.array_equal(s[:, 0], np.floor(np.sin(p) * 16384 + 0.5).astype(np.int16))
    a = np.arange(-8, 8, dtype=np.int8)[None]
    assert np.array_equal(rope_rotate(a, c[:1], s[:1]), a)


def test_rope_rotation_saturates():
    c = np.array([[11585]], dtype=np.int16)  # cos(pi/4)
    s = np.array([[11585]], dtype=np.int16)
    out = rope_rotate(np.array([[127, 127]], dtype=np.int8), c, s)
    assert out.tolist() == [[0, 127]]
    out = rope_rotate(np.array([[-128, 127]], dtype=np.int8), c, s)
    assert out.tolist() == [[-128, -1]]  # rshr(-11585, 14) = -1


# ---- grouped-query heads -------------------------------------------------------------------

def test_grouped_query_union_and_on_demand_rows():
    cal = example_layer(12, 24, 8, 4, 2, seed=3, eta=(0.3, 0.3))
    out = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
    for g in range(2):
        union = out["mask"][2 * g:2 * g + 2].any(axis=(0, 1))
        assert np.array_equal(out["key_needed"][g], union)
        assert (out["k"][g][~union] == 0).all() and (out["v"][g][~union] == 0).all()
    for h in range(4):
        g = h // 2
        ref = literal_head(cal.x.tolist(), cal.wq[h].tolist(), cal.wk[g].tolist(),
                           cal.wv[g].tolist(), cal.arith.__dict__)
        for name in ("q_hat", "q", "mask", "probs", "o"):
            assert np.array_equal(out[name][h], np.asarray(ref[name], dtype=out[name].dtype)), (name, h)
    assert 0 < out["exec_reduction"] < 1
    assert out["round_candidates"].shape == (4, 2)


# ---- properties (hypothesis) ---------------------------------------------------------------

int8s = lambda shape: arrays(np.int8, shape, elements=st.integers(-128, 127))


@st.composite
def speculation_case(draw):
    L = draw(st.integers(1, 12))
    dh = draw(st.sampled_from([2, 4, 8]))
    q_hat = draw(int8s((L, dh)))
    k_hat = draw(int8s((L, dh)))
    rb = draw(st.sampled_from([(4, 4), (8,), (2, 6), (3, 3, 2), (2, 2, 2, 2)]))
    efb = draw(st.integers(1, 8))
    from lapa.config import ArithConfig
    arith = ArithConfig(causal=draw(st.booleans()), ddf_mode=draw(st.sampled_from(["range", "margin"])),
                        round_bits=rb, eta_frac_bits=efb,
                        round_eta=tuple(draw(st.integers(0, 2**efb)) for _ in rb),
                        round_margin=tuple(draw(st.integers(0, 5000)) for _ in rb))
    return q_hat, k_hat, arith


@settings(max_examples=200, deadline=None)
@given(speculation_case())
def test_mask_keeps_row_maximum_and_nests(case):
    q_hat, k_hat, arith = case
    res = mrsa_rounds(q_hat, k_hat, arith)
    for r, a in enumerate(res.scores):
        cand, nxt = res.cands[r], res.cands[r + 1]
        assert (nxt <= cand).all()  # C_{r+1} is a subset of C_r
        best = np.where(cand, a, np.iinfo(np.int64).min).max(axis=1)
        kept_best = np.where(nxt, a, np.iinfo(np.int64).min).max(axis=1)
        assert np.array_equal(best, kept_best)  # each row keeps its maximum
    assert res.mask.any(axis=1).all()


@settings(max_examples=100, deadline=None)
@given(speculation_case())
def test_range_eta_one_keeps_every_candidate(case):
    q_hat, k_hat, arith = case
    arith = arith.replace(ddf_mode="range", round_eta=(2**arith.eta_frac_bits,) * arith.n_rounds)
    res = mrsa_rounds(q_hat, k_hat, arith)
    assert np.array_equal(res.mask, initial_candidates(q_hat.shape[0], arith.causal))


@settings(max_examples=200, deadline=None)
@given(speculation_case())
def test_direct_and_incremental_scores_identical(case):
    q_hat, k_hat, arith = case
    qlo = runtime_lo(q_hat)
    prev = None
    for r in range(arith.n_rounds):
        prev = mrsa_scores_incremental(qlo, k_hat, arith.round_bits, r, prev)
        assert np.array_equal(prev, mrsa_scores(qlo, k_hat, arith.round_bits, r))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 64), st.integers(1, 65535), st.integers(0, 30), st.integers(1, 8),
       st.integers(0, 2**32 - 1), st.booleans())
def test_probabilities_sum_to_65536(n, mult, shift, frac, seed, equal):
    rng = np.random.default_rng(seed)
    s = np.full((1, n), 7) if equal else rng.integers(-2**20, 2**20, size=(1, n))
    mask = np.ones((1, n), bool)
    p = softmax_int(s, mask, mult, shift, frac).astype(np.int64)
    total = int(p.sum())
    # Each floor loses < 1 and the reciprocal's floor loses < T / 2^16 overall (T <= n * 2^15):
    # the exact bound is 65536 - n - T/2^16 < sum <= 65536.
    from golden.softmax import softmax_exp
    T = int(softmax_exp(s.max() - s, mult, shift, frac).sum())
    assert 65536 - n - T / 65536 < total <= 65536
    assert p.max() == p[0, int(np.argmax(s[0]))]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 300), st.integers(1, 65535), st.integers(0, 30), st.integers(1, 8),
       st.integers(0, 2**32 - 1))
def test_av_accumulator_bound(n, mult, shift, frac, seed):
    """The bound behind HardwareConfig.av_acc_width: |sum_s P[t, s] * v[s, j]| <= 2^16 * 128."""
    from lapa.config import HardwareConfig

    rng = np.random.default_rng(seed)
    s = rng.integers(-2**12, 2**12, size=(1, n))
    p = softmax_int(s, np.ones((1, n), bool), mult, shift, frac).astype(np.int64)
    assert p.sum() <= 65536
    worst = int(p.sum()) * 128
    assert worst.bit_length() + 1 <= HardwareConfig().av_acc_width
