"""cocotb testbench of the A.V array (PE Array 2) against `golden.execution.attend`."""

import cocotb
import numpy as np
from amaranth.hdl import signed
from amaranth.lib import data

from golden.execution import attend
from rtl.execution.av_array import av_beat_layout
from sim.blocks import bench_block
from sim.streams import pack, stream_bench, unpack


def _job(rng, lanes, max_len):
    """(p [n], v [n, lanes]) of one query row's kept keys, random or a corner."""
    kind = rng.choice(["random", "single", "sat_hi", "sat_lo", "max_len", "uniform"])
    n = {"single": 1, "max_len": max_len}.get(kind, rng.randint(1, max_len))
    if kind == "single":
        p = [65535]
    elif kind == "uniform":
        p = [min(65535, 65536 // n)] * n
    else:  # probabilities of a row sum to about 2^16
        w = [rng.random() ** 3 for _ in range(n)]
        p = [min(65535, int(65536 * x / sum(w))) for x in w]
    if kind == "sat_hi":
        v = [[127] * lanes for _ in range(n)]
    elif kind == "sat_lo":
        v = [[-128] * lanes for _ in range(n)]
    else:
        v = [[rng.randint(-128, 127) for _ in range(lanes)] for _ in range(n)]
    return np.array(p, dtype=np.int64), np.array(v, dtype=np.int64)


async def _run(dut, gap, backpressure):
    cfg, blk = bench_block("av_array")
    lanes, max_len = blk.lanes, cfg.hw.max_seq_len
    rng, src, sink = await stream_bench(dut, gap, backpressure)
    layout, o_layout = av_beat_layout(lanes), data.ArrayLayout(signed(8), lanes)
    for m_o, n_o in [(1, 16), (65535, 0), (1, 47), (200, 22)] + \
                    [(rng.randint(1, 65535), rng.randint(0, 40)) for _ in range(4)]:
        dut.m_o.value, dut.n_o.value = m_o, n_o
        jobs = [_job(rng, lanes, max_len) for _ in range(8)]
        for p, v in jobs:
            src.send_all(pack(layout, {"p": int(p[k]), "v": v[k].tolist(), "first": int(k == 0),
                                       "last": int(k == len(p) - 1)}) for k in range(len(p)))
        for j, (p, v) in enumerate(jobs):
            got = [int(x) for x in unpack(o_layout, (await sink.get(1))[0])]
            want = attend(p[None, :], v, m_o, n_o)[0].tolist()
            assert got == want, f"m_o={m_o} n_o={n_o} job {j} (n={len(p)}): got {got}, want {want}"


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.4, 0.5)])
async def jobs(dut, stalls):
    """Random rows, one key (P = 65535), maximum length, saturation at both ends;
    at full rate, then with random source gaps and sink back-pressure."""
    await _run(dut, *stalls)
