"""The model's byte-level BPE tokenizer, built with `tokenizers` from the GGUF metadata.

Pre-tokenizer as SmolLM2's: digits split one by one, then GPT-2 byte-level (no prefix space).
"""

from __future__ import annotations

import functools

from .gguf_model import gguf_path, gguf_reader

__all__ = ["load_tokenizer"]

_CONTROL = 3  # GGUF token_type of special (control) tokens


def load_tokenizer(path=None):
    """A `tokenizers.Tokenizer` equal to the model's own (built once per GGUF path)."""
    return _build(path or gguf_path())


@functools.lru_cache(maxsize=2)
def _build(path):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    reader = gguf_reader(path)
    get = lambda k: reader.fields[k].contents()
    tokens = get("tokenizer.ggml.tokens")
    types = get("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in get("tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True) for t, ty in zip(tokens, types) if ty == _CONTROL])
    return tok
