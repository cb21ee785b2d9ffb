"""The evaluation text: the English Wikipedia excerpt that the gensim wheel ships, as tokens.

Pages are turned into plain text with gensim's `extract_pages` and `filter_wiki`; redirect
pages are dropped; pages are joined with a blank line and tokenized once (about 700k tokens),
then cached as .npy under `build/cache/` (keyed by the tokenizer's vocabulary size).
"""

from __future__ import annotations

import bz2
import os

import numpy as np

from lapa.errors import UserError

__all__ = ["WIKI_FILE", "wiki_text", "corpus_tokens", "windows"]

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
DEFAULT_CACHE = os.path.join("build", "cache")


def wiki_text():
    """Plain text of every non-redirect page, joined by blank lines."""
    try:
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki
        from gensim.test.utils import datapath
    except ImportError:
        raise UserError("the evaluation corpus needs gensim: run `bash setup.sh`") from None
    with bz2.BZ2File(datapath(WIKI_FILE)) as f:
        pages = [filter_wiki(text).strip() for _, text, _ in extract_pages(f)]
    return "\n\n".join(p for p in pages if p and not p.upper().startswith("#REDIRECT"))


def corpus_tokens(tokenizer, cache_dir=DEFAULT_CACHE):
    """int32 token ids of the whole text (cached)."""
    path = os.path.join(cache_dir, f"enwiki-excerpt-{tokenizer.get_vocab_size()}.npy") if cache_dir else None
    if path and os.path.isfile(path):
        return np.load(path)
    ids = np.asarray(tokenizer.encode(wiki_text()).ids, dtype=np.int32)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp.npy"
        np.save(tmp, ids)
        os.replace(tmp, path)
    return ids


def windows(tokens, ctx, n):
    """The first n non-overlapping windows of ctx tokens."""
    have = len(tokens) // ctx
    if n > have:
        raise UserError(f"--windows = {n}: the text has only {have} windows of {ctx} tokens")
    return [tokens[i * ctx:(i + 1) * ctx] for i in range(n)]
