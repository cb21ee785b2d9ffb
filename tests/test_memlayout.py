"""Memory layout of a job: page-aligned buffers, bus-aligned rows, lossless encode/decode."""

import numpy as np

from golden.example import example_layer
from golden.model import run_layer
from lapa.memlayout import MemoryLayout


def test_buffers_aligned_disjoint_and_round_trip():
    cal = example_layer(13, 20, 6, 4, 2, seed=1)
    out = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
    lay = MemoryLayout(13, 20, 6, 4, 2, bus_bytes=8)
    spans = sorted((b.addr, b.addr + b.size) for b in lay.buffers.values())
    assert all(a % 4096 == 0 for a, _ in spans)
    assert all(e <= s for (_, e), (s, _) in zip(spans, spans[1:]))
    assert all(b.stride % 8 == 0 and b.stride >= b.row_bytes for b in lay.buffers.values())
    tensors = {"x": cal.x, "wq": cal.wq, "wk": cal.wk, "wv": cal.wv, "o": out["o"],
               "q_hat": out["q_hat"], "k": out["k"], "probs": out["probs"],
               "mask": lay.pack_bits(out["mask"]), "key_needed": lay.pack_bits(out["key_needed"])}
    for name, t in tensors.items():
        raw = lay.encode(name, t)
        assert len(raw) == lay[name].size
        assert np.array_equal(lay.decode(name, raw), t), name
    assert np.array_equal(lay.unpack_bits(lay.pack_bits(out["mask"]), 13), out["mask"])
    # padding bytes are zero, data bytes land where the stride says
    raw = np.frombuffer(lay.encode("x", cal.x), np.uint8).reshape(13, lay["x"].stride)
    assert (raw[:, 20:] == 0).all() and np.array_equal(raw[:, :20].view(np.int8), cal.x)
