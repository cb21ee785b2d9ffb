"""cocotb testbench of PEB / MRSA against `golden.peb.mrsa_scores`, every score of every round."""

import os

import cocotb
import numpy as np

from golden.loe import lo_encode
from golden.peb import mrsa_scores, runtime_lo
from rtl.speculation.ddf import candidate_layout
from rtl.speculation.peb import peb_beat_layout
from sim.pea import code_dicts
from sim.blocks import bench_block
from sim.streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock, unpack

ROUND_BITS = ((4, 4), (8,), (2, 2, 2, 2), (1, 7), (3, 1, 4), (7, 1))


class PEBTB:
    def __init__(self, dut, gap, backpressure):
        self.dut = dut
        cfg, blk = bench_block("peb")
        self.lanes, self.dh, self.idx_width, self.score_width = blk.lanes, blk.head_dim, blk.idx_width, blk.score_width
        self.n_keys = min(12, cfg.hw.max_seq_len)   # keys per job: 12, or every index the shape has
        self.rng = make_rng(dut._log)
        self.np_rng = np.random.default_rng(self.rng.getrandbits(32))
        self.i_layout = peb_beat_layout(self.lanes, self.idx_width, self.score_width)
        self.o_layout = candidate_layout(self.idx_width, self.score_width)
        self.src = StreamSource(dut, "i", self.rng, gap=gap)
        self.sink = StreamSink(dut, "o", self.rng, backpressure=backpressure)

    async def rounds(self, q_hat, k_hat, round_bits):
        """Every round of every row on a random candidate subset, prev from golden A_{r-1}."""
        qcodes = lo_encode(q_hat, "floor", 0)
        qlo = runtime_lo(q_hat)
        n_keys = len(k_hat)
        prev = None
        for r, b in enumerate(round_bits):
            a = mrsa_scores(qlo, k_hat, round_bits, r)
            self.dut.first.value = int(r == 0)
            self.dut.cum_bits.value = sum(round_bits[:r + 1])
            self.dut.bits.value = b
            want = []
            for t in range(len(q_hat)):
                q = code_dicts(type(qcodes)(*(f[t] for f in qcodes)))
                n = int(self.np_rng.integers(1, n_keys + 1))
                cand = np.sort(self.np_rng.choice(n_keys, size=n, replace=False))
                for c, s in enumerate(cand):
                    for j0 in range(0, self.dh, self.lanes):
                        self.src.send(pack(self.i_layout, {
                            "k": [int(v) for v in k_hat[s, j0:j0 + self.lanes]], "q": q[j0:j0 + self.lanes],
                            "prev": int(prev[t, s]) if r else int(self.np_rng.integers(-99, 99)),
                            "idx": int(s), "key_last": int(j0 + self.lanes == self.dh),
                            "row_last": int(c == n - 1)}))
                    want.append((int(s), int(a[t, s]), int(c == n - 1)))
            got = [unpack(self.o_layout, bits) for bits in await self.sink.get(len(want))]
            seen = [(int(g.idx), int(g.score), int(g.last)) for g in got]
            assert seen == want, f"round_bits={round_bits} round {r}: got {seen}, want {want}"
            prev = a


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = PEBTB(dut, gap, backpressure)
    await reset(dut)
    g, dh = tb.np_rng, tb.dh
    for case, rb in enumerate(ROUND_BITS * 2 * int(os.environ.get('REPEAT', '1'))):   # REPEAT: the slow run's multiplier
        q_hat = g.integers(-128, 128, size=(3, dh))
        k_hat = g.integers(-128, 128, size=(tb.n_keys, dh))
        if case == 0:
            q_hat[:], k_hat[:] = -128, -128       # the largest positive score
        elif case == 1:
            q_hat[:], k_hat[:] = -128, 127        # the largest negative score
        elif case == 2:
            q_hat[0], k_hat[1] = 0, 0             # zero rows
        elif case == 3:
            k_hat[:] = k_hat[0]                   # all-equal keys: all-equal scores
        await tb.rounds(q_hat, k_hat, rb)


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5)])
async def random_and_corners(dut, stalls):
    """Six round_bits splits (1 to 4 rounds), extremes of q_hat and k_hat, zero rows, equal keys,
    random candidate subsets; at full rate, then with source gaps and sink back-pressure."""
    await _run(dut, *stalls)
