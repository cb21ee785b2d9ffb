"""cocotb testbench of the on-demand K/V control: each needed key scheduled exactly once per KV head."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from golden.speculation import key_needed
from rtl.execution.kv_control import kv_job_layout, kv_request_layout
from sim.blocks import bench_block
from sim.streams import key_beats, stream_bench, unpack


def _requests(rng, L, causal):
    """Kept-key lists of a few query heads sharing the KV head, and their golden key_needed."""
    heads = rng.randint(1, 3)
    mask = np.zeros((heads, L, L), dtype=bool)
    density = rng.choice([0.05, 0.3, 1.0])
    for h in range(heads):
        for t in range(L):
            top = t + 1 if causal else L
            keep = [s for s in range(top) if rng.random() < density] or [rng.randrange(top)]
            mask[h, t, keep] = True
    reqs = [int(s) for h in range(heads) for t in range(L) for s in np.flatnonzero(mask[h, t])]
    return reqs, key_needed(mask)


async def _run(dut, gap, backpressure):
    L = bench_block("kv_control")[1].max_seq_len
    dut.clear.value = 0
    rng, src, sink = await stream_bench(dut, gap, backpressure)
    req_layout, job_layout = kv_request_layout(len(dut.i__payload) - 1), kv_job_layout(len(dut.o__payload) - 2)
    cases = []
    for case in range(6):
        reqs, needed = _requests(rng, L, causal=case % 2 == 0)
        if case == 5:
            reqs = [L - 1] + reqs + [L - 1]   # ends on a repeat: passed as an end marker only
        cases.append((reqs, needed))

    for case, (reqs, needed) in enumerate(cases):
        await FallingEdge(dut.clk)
        dut.clear.value = 1
        await FallingEdge(dut.clk)
        dut.clear.value = 0
        assert int(dut.computed.value) == 0 and int(dut.requests.value) == 0
        if case == 0:
            src.send_all(key_beats(req_layout, reqs))
        jobs = []
        while not jobs or not jobs[-1].last:
            jobs.append(unpack(job_layout, (await sink.get(1))[0]))
        keys = [int(j.key) for j in jobs if j.compute]
        assert len(keys) == len(set(keys)), f"a key scheduled twice: {keys}"
        first_seen = list(dict.fromkeys(reqs))
        assert keys == first_seen, f"scheduled {keys}, want first occurrences {first_seen}"
        if case != 5:
            assert sorted(keys) == np.flatnonzero(needed).tolist()
        flags = int(dut.computed.value)
        assert [bool(flags >> s & 1) for s in range(L)] == [s in set(keys) for s in range(L)]
        assert int(dut.requests.value) == len(reqs) and int(dut.scheduled.value) == len(keys)
        assert all(not j.compute for j in jobs if j.compute == 0) and not sink.items
        if case + 1 < len(cases):   # the next KV head's requests queued behind `last`: none taken before `clear`
            src.send_all(key_beats(req_layout, cases[case + 1][0]))
            for _ in range(8):
                await RisingEdge(dut.clk)
            assert int(dut.requests.value) == len(reqs) and not sink.items, "a request taken after `last`"


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.4, 0.5)])
async def requests(dut, stalls):
    """Kept-key lists of grouped heads, causal and not, dense and sparse;
    at full rate, then with random source gaps and sink back-pressure."""
    await _run(dut, *stalls)
