"""The vectorized golden model against a literal transcription of SPEC.md, on random small cases."""

import numpy as np
import pytest

from golden.model import run_layer
from lapa.config import ArithConfig

from .spec_literal import head as literal_head

ROUND_BITS = [(4, 4), (8,), (2, 6), (3, 3, 2), (2, 2, 2, 2), (1, 7)]


def random_case(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(1, 11))
    D = int(rng.integers(1, 17))
    dh = 2 * int(rng.integers(1, 5))
    kind = seed % 5
    if kind == 0:
        x = np.full((L, D), -128, dtype=np.int8)
    elif kind == 1:
        x = rng.integers(-2, 3, size=(L, D)).astype(np.int8)
    else:
        x = rng.integers(-128, 128, size=(L, D)).astype(np.int8)
    w = [rng.integers(-128, 128, size=(D, dh)).astype(np.int8) for _ in range(3)]
    if seed % 7 == 0:
        w[0][:] = -128
    rb = ROUND_BITS[seed % len(ROUND_BITS)]
    efb = int(rng.integers(1, 9))
    arith = ArithConfig(
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
        sm_frac_bits=int(rng.integers(1, 9)))
    return x, w, arith


@pytest.mark.parametrize("seed", range(60))
def test_golden_matches_literal_spec(seed):
    x, (wq, wk, wv), arith = random_case(seed)
    out = run_layer(x, wq, wk, wv, arith)
    ref = literal_head(x.tolist(), wq.tolist(), wk.tolist(), wv.tolist(), arith.__dict__)
    for name, want in ref.items():
        got = out[name]
        assert np.array_equal(got, np.asarray(want, dtype=got.dtype)), f"{name} differs (seed {seed})"
    assert out["probs"].dtype == np.uint16 and out["o"].dtype == np.int8 and out["mask"].dtype == bool
