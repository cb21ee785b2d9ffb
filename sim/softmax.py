"""cocotb testbench of the integer softmax unit against `golden.softmax.softmax_int`, row by row."""

import cocotb
import numpy as np

from golden.softmax import softmax_int
from rtl.execution.softmax import prob_beat, score_beat
from sim.blocks import bench_block
from sim.streams import pack, stream_bench, unpack


def _rows(rng, max_len, lim):
    """Random rows plus the corners of SPEC 4.4."""
    rows = [[rng.randint(-lim, lim - 1)],                       # a single kept key: P = 65535
            [rng.randint(-lim, lim - 1)] * max_len,             # all equal, maximum length
            [lim - 1, -lim] * (max_len // 2) or [0],            # far apart: E underflows to 0
            [0] * rng.randint(1, max_len),
            [rng.randint(-lim, lim - 1) for _ in range(max_len)]]
    for _ in range(6):
        n = rng.randint(1, max_len)
        spread = rng.choice([4, 64, 1024, lim])
        base = rng.randint(-lim + spread, lim - spread)
        rows.append([base + rng.randint(-spread, spread - 1) for _ in range(n)])
    return rows


async def _run(dut, gap, backpressure):
    cfg, blk = bench_block("softmax")
    score_width, max_len = blk.score_width, blk.max_len
    lim = cfg.hw.head_dim * 128 * 128  # |S| <= dh * 128 * 128
    rng, src, sink = await stream_bench(dut, gap, backpressure)
    s_layout, p_layout = score_beat(score_width), prob_beat()
    configs = [(256, 8, 6), (1, 0, 1), (65535, 0, 8), (65535, 47, 8), (1, 47, 3)]
    configs += [(rng.randint(1, 65535), rng.randint(0, 24), rng.randint(1, 8)) for _ in range(5)]
    for sm_mult, sm_shift, frac in configs:
        dut.sm_mult.value, dut.sm_shift.value, dut.sm_frac_bits.value = sm_mult, sm_shift, frac
        rows = _rows(rng, max_len, lim)
        for row in rows:
            src.send_all(pack(s_layout, {"score": v, "last": int(k == len(row) - 1)})
                         for k, v in enumerate(row))
        for r, row in enumerate(rows):
            got = [unpack(p_layout, b) for b in await sink.get(len(row))]
            s = np.array([row], dtype=np.int64)
            want = softmax_int(s, np.ones_like(s, dtype=bool), sm_mult, sm_shift, frac)[0]
            probs = [int(g.prob) for g in got]
            lasts = [int(g.last) for g in got]
            assert lasts == [0] * (len(row) - 1) + [1], f"row {r}: last flags {lasts}"
            assert probs == want.tolist(), (f"sm=({sm_mult},{sm_shift},{frac}) row {row}: "
                                            f"got {probs}, want {want.tolist()}")
        assert not sink.items, "extra output beats"


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.4, 0.5)])
async def rows(dut, stalls):
    """Random rows and corners under several (sm_mult, sm_shift, sm_frac_bits);
    at full rate, then with random source gaps and sink back-pressure."""
    await _run(dut, *stalls)
