"""Where a job's tensors live in the accelerator's memory (the contract of the *_ADDR registers).

Each buffer starts on a 4 KiB boundary; rows are padded to a multiple of the AXI bus width so
every row starts on a bus word. Layouts (row-major, little-endian):
- `x` [L, D] int8;
- `wq` [H, D, dh], `wk`/`wv` [Hkv, D, dh] int8, stored per head in the execution unit's tile
  order (`exec_tiles`: tile (jt, ic), jt outer, holds w[ic*C + c, jt*R + r] at [r][c]), so a
  head's weights are one contiguous read;
- `wq_lo`/`wk_lo`: the ALOC codes of wq/wk, one byte each (`rtl.speculation.loe.LOCode` bits), stored per
  head in the PEA's column-group order (`pea_groups`: group g, then d, then lane l holds the code
  of w[d, g*P + l]);
- `rope` [L, dh] int16: row t is the RoPE table row of token t, c[0..dh/2) then s[0..dh/2)
  (`golden.rope.rope_table`), read when `rope` = 1;
- `o`, `q_hat`, `q` [H, L, dh] and `k_hat`, `k`, `v` [Hkv, L, dh] int8;
- `mask` [H, L, ceil(L/8)] and `key_needed` [Hkv, ceil(L/8)] bit-packed, LSB first;
- `probs` [H, L, L] uint16: the RTL writes each row compacted, its kept keys' probabilities in
  ascending key order from the row's start (`expand_probs` scatters them with the mask).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Buffer", "MemoryLayout", "exec_tiles", "pea_groups", "lo_bytes", "expand_probs"]

PAGE = 4096


def _round_up(n, k):
    return (n + k - 1) // k * k


class Buffer(NamedTuple):
    """One buffer: byte address, shape (rows first), element dtype, padded row stride in bytes."""

    addr: int
    shape: tuple
    dtype: str
    row_bytes: int
    stride: int

    @property
    def rows(self):
        return int(np.prod(self.shape[:-1])) if len(self.shape) > 1 else 1

    @property
    def size(self):
        return self.rows * self.stride


class MemoryLayout:
    """Addresses and shapes of every buffer of one job."""

    INPUTS = ("x", "wq", "wk", "wv", "wq_lo", "wk_lo", "rope")
    OUTPUTS = ("o", "q_hat", "k_hat", "q", "k", "v", "mask", "key_needed", "probs")

    def __init__(self, seq_len, d_model, head_dim, n_heads, n_kv_heads, bus_bytes=8, base=0):
        L, D, dh, H, G = seq_len, d_model, head_dim, n_heads, n_kv_heads
        nb = (L + 7) // 8
        shapes = {
            "x": ((L, D), "int8"), "wq": ((H, D, dh), "int8"), "wk": ((G, D, dh), "int8"),
            "wv": ((G, D, dh), "int8"), "wq_lo": ((H, D, dh), "uint8"), "wk_lo": ((G, D, dh), "uint8"),
            "rope": ((L, dh), "int16"),
            "o": ((H, L, dh), "int8"), "q_hat": ((H, L, dh), "int8"), "k_hat": ((G, L, dh), "int8"),
            "q": ((H, L, dh), "int8"), "k": ((G, L, dh), "int8"), "v": ((G, L, dh), "int8"),
            "mask": ((H, L, nb), "uint8"), "key_needed": ((G, nb), "uint8"),
            "probs": ((H, L, L), "uint16"),
        }
        self.bus_bytes = bus_bytes
        self.buffers = {}
        addr = _round_up(base, PAGE)
        for name, (shape, dtype) in shapes.items():
            row_bytes = shape[-1] * np.dtype(dtype).itemsize
            buf = Buffer(addr, shape, dtype, row_bytes, _round_up(row_bytes, bus_bytes))
            self.buffers[name] = buf
            addr = _round_up(addr + buf.size, PAGE)
        self.size = addr

    def __getitem__(self, name) -> Buffer:
        return self.buffers[name]

    def encode(self, name, array) -> bytes:
        """The bytes of `array` laid out as buffer `name` (rows padded with zeros)."""
        buf = self.buffers[name]
        a = np.ascontiguousarray(np.asarray(array).astype(buf.dtype).reshape(buf.rows, buf.shape[-1]))
        raw = np.zeros((buf.rows, buf.stride), dtype=np.uint8)
        raw[:, :buf.row_bytes] = a.view(np.uint8).reshape(buf.rows, buf.row_bytes)
        return raw.tobytes()

    def decode(self, name, raw: bytes) -> np.ndarray:
        """Inverse of `encode`."""
        buf = self.buffers[name]
        rows = np.frombuffer(raw, dtype=np.uint8, count=buf.size).reshape(buf.rows, buf.stride)
        data = np.ascontiguousarray(rows[:, :buf.row_bytes]).view(buf.dtype)
        return data.reshape(buf.shape)

    @staticmethod
    def pack_bits(mask):
        """bool [..., L] -> uint8 [..., ceil(L/8)], LSB first."""
        return np.packbits(np.asarray(mask, dtype=bool), axis=-1, bitorder="little")

    @staticmethod
    def unpack_bits(packed, n):
        """Inverse of `pack_bits` for n entries."""
        return np.unpackbits(packed, axis=-1, count=n, bitorder="little").astype(bool)


def exec_tiles(w, mac_rows, mac_cols):
    """[..., D, dh] weights -> the same bytes in the execution unit's tile order [..., D, dh]:
    tile (jt, ic) (jt outer) is R x C with [r][c] = w[ic*C + c, jt*R + r]."""
    w = np.asarray(w)
    *lead, D, dh = w.shape
    R, C = mac_rows, mac_cols
    t = w.reshape(*lead, D // C, C, dh // R, R)            # [.., ic, c, jt, r]
    t = np.moveaxis(t, (-2, -4, -1, -3), (-4, -3, -2, -1))  # [.., jt, ic, r, c]
    return np.ascontiguousarray(t).reshape(*lead, D, dh)


def pea_groups(codes, pea_lanes):
    """[..., D, dh] per-weight bytes -> PEA column-group order [..., D, dh]: group g (outer),
    then d, then lane l holds the entry of w[d, g*P + l]."""
    codes = np.asarray(codes)
    *lead, D, dh = codes.shape
    t = codes.reshape(*lead, D, dh // pea_lanes, pea_lanes)   # [.., d, g, l]
    t = np.swapaxes(t, -3, -2)                                 # [.., g, d, l]
    return np.ascontiguousarray(t).reshape(*lead, D, dh)


def lo_bytes(codes):
    """golden `LOCode` arrays -> one byte per code in `rtl.speculation.loe.LOCode` bit order
    (zero, neg, e[3], m from bit 0)."""
    zero = np.asarray(codes.zero, dtype=np.uint8) & 1
    neg = (np.asarray(codes.sign) < 0).astype(np.uint8)
    e = np.asarray(codes.e, dtype=np.int64)
    if ((e < 0) | (e > 7)).any():
        raise ValueError("LO exponent outside 0..7")
    m = np.asarray(codes.m, dtype=np.uint8) & 1
    return (zero | (neg << 1) | (e.astype(np.uint8) << 2) | (m << 5)).astype(np.uint8)


def expand_probs(compact, mask):
    """Rows of kept probabilities (compacted, ascending keys) -> dense [.., L, L], 0 off the mask."""
    compact = np.asarray(compact)
    mask = np.asarray(mask, dtype=bool)
    dense = np.zeros(mask.shape, dtype=np.uint16)
    rank = np.cumsum(mask, axis=-1) - 1            # position of each kept key in its row's list
    src = np.take_along_axis(compact, np.where(mask, rank, 0), axis=-1)
    dense[mask] = src[mask]
    return dense
