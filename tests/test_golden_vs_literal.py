"""The vectorized golden model against a literal transcription of SPEC.md, on random small cases.

Every predictor of SPEC section 8 (lapa, dense, sanger, topk, symlo), single heads and grouped
heads, with the corner cases the baselines have: `sg_thresh` 0 and 65535, `topk_k` 1 and >= L,
tied scores (x of a few distinct values, repeated rows), one token, -128 and zeros.
"""

import numpy as np
import pytest

from golden.model import run_layer
from lapa.config import PREDICTORS, ArithConfig

from .spec_literal import head as literal_head
from .spec_literal import layer as literal_layer

ROUND_BITS = [(4, 4), (8,), (2, 6), (3, 3, 2), (2, 2, 2, 2), (1, 7)]
HEADINGS = [(1, 1), (2, 1), (3, 3), (4, 2), (6, 3)]


def random_tensors(rng, seed, L, D, dh, H, Hkv):
    kind = seed % 6
    if kind == 0:
        x = np.full((L, D), -128, dtype=np.int8)
    elif kind == 1:
        x = rng.integers(-2, 3, size=(L, D)).astype(np.int8)          # many tied scores
    elif kind == 2:
        x = np.repeat(rng.integers(-128, 128, size=(1, D)), L, axis=0).astype(np.int8)  # identical rows
    elif kind == 3:
        x = np.zeros((L, D), dtype=np.int8)
    else:
        x = rng.integers(-128, 128, size=(L, D)).astype(np.int8)
    w = [rng.integers(-128, 128, size=(n, D, dh)).astype(np.int8) for n in (H, Hkv, Hkv)]
    if seed % 7 == 0:
        w[0][:] = -128
    return x, w


def random_arith(rng, seed, L, predictor):
    rb = ROUND_BITS[seed % len(ROUND_BITS)]
    efb = int(rng.integers(1, 9))
    thresh = (0, 65535, int(rng.integers(0, 4000)), int(rng.integers(0, 65536)))[seed % 4]
    topk = (1, L, L + int(rng.integers(0, 5)), int(rng.integers(1, L + 1)))[(seed // 2) % 4]
    return ArithConfig(
        causal=bool(rng.integers(0, 2)), rope=bool(rng.integers(0, 2)),
        rope_base=int(rng.choice([10000, 100000, 7, 1])), pos0=int(rng.integers(0, 3000)),
        ddf_mode=("range", "margin")[seed % 2], round_bits=rb,
        round_eta=tuple(int(rng.integers(0, 2**efb + 1)) for _ in rb),
        round_margin=tuple(int(rng.integers(0, 3000)) for _ in rb), eta_frac_bits=efb,
        w_lo_mode=("floor", "round")[int(rng.integers(0, 2))], w_lo_mant_bits=int(rng.integers(0, 2)),
        sh_qhat=int(rng.integers(4, 14)), sh_khat=int(rng.integers(4, 14)),
        m_q=int(rng.integers(1, 65536)), n_q=int(rng.integers(10, 30)),
        m_k=int(rng.integers(1, 65536)), n_k=int(rng.integers(10, 30)),
        m_v=int(rng.integers(1, 65536)), n_v=int(rng.integers(10, 30)),
        m_o=int(rng.integers(1, 65536)), n_o=int(rng.integers(20, 40)),
        sm_mult=int(rng.integers(1, 65536)), sm_shift=int(rng.integers(0, 24)),
        sm_frac_bits=int(rng.integers(1, 9)), predictor=predictor,
        sg_mult=int(rng.integers(1, 65536)), sg_shift=int(rng.integers(0, 24)), sg_thresh=thresh,
        topk_k=topk)


def random_case(seed, predictor="lapa", heads=(1, 1)):
    rng = np.random.default_rng(seed)
    L = 1 if seed % 9 == 4 else int(rng.integers(1, 11))
    D = int(rng.integers(1, 17))
    dh = 2 * int(rng.integers(1, 5))
    x, w = random_tensors(rng, seed, L, D, dh, *heads)
    return x, w, random_arith(rng, seed, L, predictor)


def _compare(out, ref, what):
    for name, want in ref.items():
        got = out[name]
        assert np.array_equal(got, np.asarray(want, dtype=got.dtype)), f"{name} differs ({what})"
    assert out["probs"].dtype == np.uint16 and out["o"].dtype == np.int8 and out["mask"].dtype == bool


@pytest.mark.parametrize("seed", range(60))
def test_golden_matches_literal_spec(seed):
    x, (wq, wk, wv), arith = random_case(seed)
    out = run_layer(x, wq[0], wk[0], wv[0], arith)
    ref = literal_head(x.tolist(), wq[0].tolist(), wk[0].tolist(), wv[0].tolist(), arith.__dict__)
    _compare(out, ref, f"seed {seed}")


@pytest.mark.parametrize("predictor", PREDICTORS)
@pytest.mark.parametrize("seed", range(24))
def test_predictors_match_literal_spec(predictor, seed):
    heads = HEADINGS[seed % len(HEADINGS)]
    x, (wq, wk, wv), arith = random_case(1000 + seed, predictor, heads)
    out = run_layer(x, wq, wk, wv, arith)
    ref = literal_layer(x.tolist(), wq.tolist(), wk.tolist(), wv.tolist(), arith.__dict__)
    _compare(out, ref, f"{predictor}, seed {seed}, H/Hkv {heads}")
    assert out["mask"].any(axis=-1).all(), "a row without a key"


def test_cases_hit_the_corners():
    """The random cases above do reach the corners the baselines are sensitive to."""
    seen = set()
    for seed in range(24):
        x, _, a = random_case(1000 + seed, "topk")
        L = x.shape[0]
        seen |= {("topk_1", a.topk_k == 1), ("topk_ge_L", a.topk_k >= L), ("one_token", L == 1),
                 ("thresh_0", a.sg_thresh == 0), ("thresh_max", a.sg_thresh == 65535),
                 ("zeros", not x.any()), ("m128", (x == -128).all()), ("rope", a.rope)}
    assert {k for k, v in seen if v} == {"topk_1", "topk_ge_L", "one_token", "thresh_0", "thresh_max",
                                        "zeros", "m128", "rope"}
