"""cocotb testbench of the MAC PE array: every row sum of every job against an exact NumPy dot."""

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data

from rtl.execution.mac_array import mac_beat_layout
from sim.blocks import bench_block
from sim.streams import pack, stream_bench, unpack


async def _run(dut, gap, backpressure):
    cfg, blk = bench_block("mac_array")
    rows, cols, acc_width = blk.rows, blk.cols, blk.acc_width
    max_beats = cfg.hw.d_model // cols  # D / cols: the longest job the config allows
    rng, src, sink = await stream_bench(dut, gap, backpressure)
    beat_layout = mac_beat_layout(rows, cols)
    out_layout = data.ArrayLayout(signed(acc_width), rows)
    want = []
    for job in range(30):
        beats = rng.choice([1, 2, max_beats, rng.randint(1, max_beats)])
        kind = rng.choice(["random", "min", "max", "zero", "mixed"])
        if kind == "min":     # -128 * -128 everywhere: the largest positive sum
            a = np.full((beats, rows, cols), -128)
            b = np.full((beats, rows, cols), -128)
        elif kind == "max":   # -128 * 127: the most negative sum
            a = np.full((beats, rows, cols), -128)
            b = np.full((beats, rows, cols), 127)
        elif kind == "zero":
            a = np.zeros((beats, rows, cols), dtype=np.int64)
            b = np.array([[[rng.randint(-128, 127) for _ in range(cols)] for _ in range(rows)]
                          for _ in range(beats)])
        else:
            a = np.array([[[rng.randint(-128, 127) for _ in range(cols)] for _ in range(rows)]
                          for _ in range(beats)])
            b = np.array([[[rng.choice([-128, 127, 0, rng.randint(-128, 127)]) for _ in range(cols)]
                           for _ in range(rows)] for _ in range(beats)])
        for k in range(beats):
            src.send(pack(beat_layout, {"a": a[k].tolist(), "b": b[k].tolist(),
                                        "first": int(k == 0), "last": int(k == beats - 1)}))
        want.append((a.astype(np.int64) * b).sum(axis=(0, 2)).tolist())
    got = await sink.get(len(want))
    for j, (g, w) in enumerate(zip(got, want)):
        out = [int(v) for v in unpack(out_layout, g)]
        assert out == w, f"job {j}: got {out}, want {w}"


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.5, 0.6)])
async def jobs(dut, stalls):
    """Random jobs of 1..D/cols beats, extreme operands;
    at full rate, then with random source gaps and sink back-pressure."""
    await _run(dut, *stalls)
