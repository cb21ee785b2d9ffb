"""SmolLM2-135M loader, tokenizer and float forward pass of `evaluation` (issue 7)."""

import numpy as np
import pytest

from evaluation.corpus import corpus_tokens, windows
from evaluation.forward import forward_nll, next_token
from evaluation.gguf_model import shared_model, unpermute_rope_rows
from evaluation.tokenizer import load_tokenizer

# Recorded on the dense float32 model: first 128-token window of the corpus.
PPL_FIRST_128 = 22.4878


@pytest.fixture(scope="module")
def model():
    return shared_model()


@pytest.fixture(scope="module")
def tokenizer(model):
    return load_tokenizer(model.path)


def _gguf_permute(w, n_heads):
    """The GGUF converter's interleave (llama.cpp convert_hf_to_gguf `permute`)."""
    return w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def test_unpermute_inverts_the_converter():
    w = np.arange(3 * 8 * 5, dtype=np.float32).reshape(24, 5)
    assert np.array_equal(unpermute_rope_rows(_gguf_permute(w, 3), 3), w)


def test_model_shape(model):
    c = model.config
    assert (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff) == (30, 576, 9, 3, 64, 1536)
    assert c.rope_base == 1e5
    wq, wk, wv = model.head_weights(0)
    assert wq.shape == (9, 576, 64) and wk.shape == wv.shape == (3, 576, 64)


def test_tokenizer_splits_digits(tokenizer):
    enc = tokenizer.encode("In 2023 Paris")
    assert enc.tokens == ["In", "Ġ", "2", "0", "2", "3", "ĠParis"]
    assert tokenizer.decode(enc.ids) == "In 2023 Paris"


def test_next_token_is_paris(model, tokenizer):
    ids = tokenizer.encode("The capital of France is").ids
    assert tokenizer.decode([next_token(model, ids)]) == " Paris"


def test_short_window_perplexity(model, tokenizer):
    w = windows(corpus_tokens(tokenizer), 128, 1)[0]
    ppl = float(np.exp(forward_nll(model, w).mean()))
    assert ppl == pytest.approx(PPL_FIRST_128, rel=2e-3)
    # With the GGUF's interleaved q/k rows, RoPE pairs the wrong dimensions: clearly worse.
    saved = [(lw["wq"], lw["wk"]) for lw in model.layers]
    try:
        for lw in model.layers:
            lw["wq"] = _gguf_permute(lw["wq"], model.config.n_heads)
            lw["wk"] = _gguf_permute(lw["wk"], model.config.n_kv_heads)
        assert float(np.exp(forward_nll(model, w).mean())) > 1.2 * ppl
    finally:
        for lw, (wq, wk) in zip(model.layers, saved):
            lw["wq"], lw["wk"] = wq, wk
