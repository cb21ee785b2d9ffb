"""cocotb testbench of the dense predictor (`rtl.predictors.dense`) against golden's SPEC 8 dense.

Jobs of every length 1..max_seq_len, causal and not, grouped heads (`first_head` / `last_head`
sequences) with random back-pressure on `kept` and `needed`: every row's kept keys are C_1[t]
(`golden.speculation.initial_candidates`, order and `last` flags included), `needed` after the
`last_head` job is every key (`golden.speculation.key_needed` of the group's masks), none after
another job; `hat` never rises; `busy` rises the cycle after `start` and falls after the job's
last beat; `perf.kept_round[0]` counts every kept key (the other rounds read 0).
"""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from golden.speculation import initial_candidates, key_needed
from rtl.predictors.dense import dense_perf_layout
from rtl.execution.kv_control import kv_request_layout
from rtl.predictors.slot import job_layout
from sim.predictor_jobs import check_kept
from sim.streams import StreamSink, load_config, make_rng, pack, reset, start_clock, unpack


class DenseTB:
    def __init__(self, dut, backpressure):
        self.dut = dut
        self.hw = load_config().hw
        self.rng = make_rng(dut._log)
        self.iw = self.hw.seq_index_width
        self.kept = StreamSink(dut, "slot__kept", self.rng, backpressure=backpressure)
        self.needed = StreamSink(dut, "slot__needed", self.rng, backpressure=backpressure)
        dut.slot__start.value = 0
        dut.slot__hat__ready.value = 1
        for name in ("q", "k", "scores"):
            getattr(dut, f"slot__{name}__valid").value = 0
        self.sent = 0                   # kept keys since reset (golden)
        self.hat_rose = False
        cocotb.start_soon(self._watch_hat())

    async def _watch_hat(self):
        while True:
            await RisingEdge(self.dut.clk)
            if int(self.dut.slot__hat__valid.value):
                self.hat_rose = True

    async def job(self, L, causal, first, last, group_masks):
        """One query head; `group_masks` collects the KV head's masks for `needed`."""
        d, ctx = self.dut, f"L={L} causal={causal} first={first} last={last}"
        await FallingEdge(d.clk)
        d.slot__job.value = pack(job_layout(self.hw), {"seq_len": L, "causal": causal, "first_head": first,
                                                       "last_head": last, "trace": 1})
        d.slot__start.value = 1
        await ReadOnly()
        assert not int(d.slot__busy.value), f"{ctx}: busy before the job"
        await FallingEdge(d.clk)
        d.slot__start.value = 0
        assert int(d.slot__busy.value), f"{ctx}: busy did not rise the cycle after start"
        c1 = initial_candidates(L, bool(causal))
        group_masks.append(c1)
        await check_kept(self.kept, self.iw, [np.flatnonzero(row) for row in c1], ctx)
        self.sent += int(c1.sum())
        if last:
            want = [int(s) for s in np.flatnonzero(key_needed(np.stack(group_masks)))]
            got = [unpack(kv_request_layout(self.iw), b) for b in await self.needed.get(len(want))]
            assert [int(g.key) for g in got] == want == list(range(L)), f"{ctx}: needed {[int(g.key) for g in got]}"
            assert [int(g.last) for g in got] == [0] * (L - 1) + [1], f"{ctx}: needed last flags"
            group_masks.clear()
        for _ in range(4 * L + 8):
            await ReadOnly()
            if not int(d.slot__busy.value):
                break
            await RisingEdge(d.clk)
        assert not int(d.slot__busy.value), f"{ctx}: busy after the last beat"
        await RisingEdge(d.clk)
        assert not self.kept.items and not self.needed.items, f"{ctx}: extra beats"
        perf = unpack(dense_perf_layout(self.hw), int(d.perf.value))
        assert int(perf.kept_round[0]) == self.sent, f"{ctx}: kept_round[0] {int(perf.kept_round[0])}, want {self.sent}"
        assert all(int(perf.kept_round[r]) == 0 for r in range(1, self.hw.max_rounds)), ctx
        assert not self.hat_rose, f"{ctx}: hat.valid rose"


async def _run(dut, backpressure):
    await start_clock(dut)
    tb = DenseTB(dut, backpressure)
    await reset(dut)
    n, rng = tb.hw.max_seq_len, tb.rng
    masks = []
    for L in list(range(1, n + 1)) + [n, 1]:
        causal = L % 2 if L != n else rng.getrandbits(1)
        await tb.job(L, causal, 1, 1, masks)
    for group in (1, 2, 3):                 # grouped heads: needed only after the last one
        L, causal = rng.randint(1, n), rng.getrandbits(1)
        for j in range(group):
            await tb.job(L, causal, int(j == 0), int(j == group - 1), masks)


@cocotb.test()
async def dense_no_stalls(dut):
    await _run(dut, 0.0)


@cocotb.test()
async def dense_backpressure(dut):
    await _run(dut, 0.5)
