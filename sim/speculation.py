"""cocotb testbench of the speculation unit against `golden.speculation`, mask and key_needed.

Every job loads LO-coded weights and the RoPE table through the load ports, streams x with
random gaps, takes `kept`, `needed` and `hat` with random back-pressure, and compares every kept
key of every row (order and `last` flags included) and the key_needed list with the golden
model. Jobs with `trace` = 1 also compare every `hat` beat (q_hat rows, then k_hat rows when
k is projected) with golden `predict_hat`, and check that `predict_cycles` does not count while
`hat` is valid; with `trace` = 0, `hat.valid` must not rise. After every job the per-round
survivor counters `perf.kept_round` are compared with golden's |C_{r+1}| sums.

The jobs' SPEC 8 predictor is the generated one (`HardwareConfig.predictor`): on a `symlo` unit
(`rtl.predictors.symlo.SymloUnit`) golden LO-codes x before the PEA (`golden.pea.symlo_input`).
"""

import os

import cocotb
import numpy as np
from amaranth.lib import data
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from golden.loe import lo_encode
from golden.rope import rope_table
from golden.speculation import key_needed, mrsa_rounds, predict_hat
from lapa.config import ArithConfig
from rtl.execution.kv_control import kv_request_layout
from rtl.speculation.loe import LOCode
from rtl.common.rope import rope_table_layout
from rtl.speculation.unit import PERF_FIELDS, SpeculationUnit, hat_layout, spec_config_layout
from sim.pea import code_dicts
from sim.streams import StreamSink, StreamSource, load_config, make_rng, pack, reset, start_clock, unpack


class SpeculationTB:
    def __init__(self, dut, gap, backpressure, monitor=True):
        self.dut = dut
        self.monitor = monitor
        self.cfg = load_config()
        self.hw = self.cfg.hw
        self.rng = make_rng(dut._log)
        self.np_rng = np.random.default_rng(self.rng.getrandbits(32))
        self.req = kv_request_layout(self.hw.seq_index_width)
        self.hat_layout = hat_layout(self.hw)
        self.perf_layout = SpeculationUnit.perf_layout(self.hw)
        self.x = StreamSource(dut, "x", self.rng, gap=gap)
        if monitor:
            self.kept = StreamSink(dut, "kept", self.rng, backpressure=backpressure)
            self.needed = StreamSink(dut, "needed", self.rng, backpressure=backpressure)
            self.hat = StreamSink(dut, "hat", self.rng, backpressure=backpressure)
        else:
            # long measurements: outputs always taken and not looked at (no per-cycle Python);
            # the counters are still checked against golden
            dut.kept__ready.value = 1
            dut.needed__ready.value = 1
            dut.hat__ready.value = 1
        for name in ("start", "w_en", "rope_w_en", "w_addr", "rope_w_addr", "w_data", "rope_w_data"):
            getattr(dut, name).value = 0
        self.perf = {}
        self.kept_round = [0] * self.hw.max_rounds  # golden survivors per round since reset
        self.hat_rises = 0                          # rising edges of hat.valid (after reset)
        self.hat_predict = set()                    # predict_cycles seen while hat.valid = 1

    def watch_hat(self):
        """Start counting hat.valid's rises (call after reset); while it is high, note
        predict_cycles every cycle (the trace comes before the prediction)."""
        cocotb.start_soon(self._watch_hat())

    async def _watch_hat(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.hat__valid)
            self.hat_rises += 1
            await ReadOnly()
            while int(dut.hat__valid.value):
                self.hat_predict.add(self._perf().predict_cycles)
                await RisingEdge(dut.clk)
                await ReadOnly()

    def _perf(self):
        return unpack(self.perf_layout, int(self.dut.perf.value))

    async def load_weights(self, wq, wk, mode, mant):
        """The host's weight load: ALOC codes of wq then wk, in PEA column groups."""
        hw, dut = self.hw, self.dut
        lanes, d = hw.pea_lanes, hw.d_model
        groups = hw.head_dim // lanes
        layout = data.ArrayLayout(LOCode, lanes)
        for w_i, w in enumerate((wq, wk)):
            codes = lo_encode(w, mode, mant)
            for g in range(groups):
                for i in range(d):
                    row = code_dicts(type(codes)(*(f[i, g * lanes:(g + 1) * lanes] for f in codes)))
                    await FallingEdge(dut.clk)
                    dut.w_en.value = 1
                    dut.w_addr.value = (w_i * groups + g) * d + i
                    dut.w_data.value = pack(layout, row)
        await FallingEdge(dut.clk)
        dut.w_en.value = 0

    async def load_rope(self, arith):
        hw, dut = self.hw, self.dut
        c, s = rope_table(hw.max_seq_len, hw.head_dim, arith.rope_base, arith.pos0)
        layout = rope_table_layout(hw.head_dim)
        for t in range(hw.max_seq_len):
            await FallingEdge(dut.clk)
            dut.rope_w_en.value = 1
            dut.rope_w_addr.value = t
            dut.rope_w_data.value = pack(layout, {"c": [int(v) for v in c[t]], "s": [int(v) for v in s[t]]})
        await FallingEdge(dut.clk)
        dut.rope_w_en.value = 0

    def set_config(self, arith, seq_len, project_k, last_head, trace=0):
        hw = self.hw
        pad = hw.max_rounds - arith.n_rounds
        self.dut.config.value = pack(spec_config_layout(hw), {
            "seq_len": seq_len, "causal": int(arith.causal), "rope": int(arith.rope),
            "project_k": project_k, "last_head": last_head,
            "sh_qhat": arith.sh_qhat, "sh_khat": arith.sh_khat,
            "ddf_mode": int(arith.ddf_mode == "margin"), "n_rounds": arith.n_rounds,
            "round_bits": list(arith.round_bits) + [0] * pad, "round_eta": list(arith.round_eta) + [0] * pad,
            "round_margin": list(arith.round_margin) + [0] * pad, "eta_frac_bits": arith.eta_frac_bits,
            "trace": trace})

    async def job(self, x, wq, wk, arith, project_k=1, last_head=1, prev_needed=None, trace=0):
        """One head: returns (mask, key_needed) from golden after checking the RTL's streams
        (and the `hat` trace when `trace` = 1, which needs the monitor)."""
        dut, seq_len = self.dut, len(x)
        assert self.monitor or not trace
        if project_k:
            await self.load_weights(wq, wk, arith.w_lo_mode, arith.w_lo_mant_bits)
        else:
            await self.load_weights(wq, np.zeros_like(wq), arith.w_lo_mode, arith.w_lo_mant_bits)
        await self.load_rope(arith)
        self.set_config(arith, seq_len, project_k, last_head, trace)
        await FallingEdge(dut.clk)
        rises, predict0 = self.hat_rises, self._perf().predict_cycles
        self.hat_predict.clear()
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        self.x.send_all(int(v) & 0xFF for v in x.reshape(-1))
        q_hat = predict_hat(x, wq, arith, arith.sh_qhat)
        k_hat = predict_hat(x, wk, arith, arith.sh_khat)
        res = mrsa_rounds(q_hat, k_hat, arith)
        mask = res.mask
        for r in range(arith.n_rounds):
            self.kept_round[r] += int(res.cands[r + 1].sum())
        ctx = f"L={seq_len} trace={trace} {arith}"
        if not self.monitor:
            await self.x.wait_idle(timeout=10**7)
            self.x.stop()
            await FallingEdge(dut.busy)
            self.x = StreamSource(dut, "x", self.rng)
            await FallingEdge(dut.clk)
            assert self.hat_rises == rises, f"{ctx}: hat.valid rose with trace = 0"
            return self._read_perf(mask, None)
        if trace:
            want = [(0, t, [int(v) for v in q_hat[t]]) for t in range(seq_len)]
            if project_k:
                want += [(1, t, [int(v) for v in k_hat[t]]) for t in range(seq_len)]
            got = [unpack(self.hat_layout, b) for b in await self.hat.get(len(want), timeout=10**7)]
            got = [(int(g.is_k), int(g.row), [int(v) for v in g.data]) for g in got]
            for i, (gb, wb) in enumerate(zip(got, want)):
                assert gb == wb, f"{ctx}: hat beat {i} (is_k, row, data) = {gb}, want {wb}"
        for t in range(seq_len):
            want = [int(s) for s in np.flatnonzero(mask[t])]
            got = [unpack(self.req, b) for b in await self.kept.get(len(want), timeout=10**7)]
            keys = [int(g.key) for g in got]
            lasts = [int(g.last) for g in got]
            assert keys == want, f"{ctx} row {t}: kept {keys}, want {want}"
            assert lasts == [0] * (len(want) - 1) + [1], f"{ctx} row {t}: last flags {lasts}"
        needed = key_needed(mask) if prev_needed is None else key_needed(mask) | prev_needed
        if last_head:
            want = [int(s) for s in np.flatnonzero(needed)]
            got = [unpack(self.req, b) for b in await self.needed.get(len(want))]
            assert [int(g.key) for g in got] == want, f"{ctx}: key_needed {[int(g.key) for g in got]}, want {want}"
            assert [int(g.last) for g in got] == [0] * (len(want) - 1) + [1], f"{ctx}: needed last flags"
        while int(dut.busy.value):
            await RisingEdge(dut.clk)
        assert not self.kept.items and not self.needed.items and not self.hat.items, "extra output beats"
        if trace:
            assert self.hat_rises > rises, f"{ctx}: hat.valid never rose"
            assert self.hat_predict == {predict0}, \
                f"{ctx}: predict_cycles {sorted(self.hat_predict)} while tracing, want {predict0}"
        else:
            assert self.hat_rises == rises, f"{ctx}: hat.valid rose with trace = 0"
        return self._read_perf(mask, needed)

    def _read_perf(self, mask, needed):
        perf = self._perf()
        self.perf = {n: int(getattr(perf, n)) for n in PERF_FIELDS}
        kept_round = [int(v) for v in perf.kept_round]
        assert kept_round == self.kept_round, f"perf.kept_round {kept_round}, golden {self.kept_round}"
        return mask, needed


def random_arith(g, causal=None, rope=None, mode=None, predictor="lapa"):
    rb = [(4, 4), (8,), (2, 2, 2, 2), (3, 5), (2, 3, 3), (1, 7)][int(g.integers(0, 6))]
    efb = int(g.integers(1, 9))
    return ArithConfig(
        predictor=predictor, causal=bool(g.integers(0, 2)) if causal is None else causal,
        rope=bool(g.integers(0, 2)) if rope is None else rope,
        rope_base=int(g.choice([10000, 100, 2**20])), pos0=int(g.choice([0, 3, 2**16])),
        ddf_mode=mode or ("range", "margin")[int(g.integers(0, 2))],
        round_bits=rb, eta_frac_bits=efb,
        round_eta=tuple(int(g.integers(0, (1 << efb) + 1)) for _ in rb),
        round_margin=tuple(int(g.choice([0, 1, int(g.integers(0, 4000)), 2**31 - 1])) for _ in rb),
        w_lo_mode=("floor", "round")[int(g.integers(0, 2))], w_lo_mant_bits=int(g.integers(0, 2)),
        sh_qhat=int(g.integers(5, 10)), sh_khat=int(g.integers(5, 10)))


async def _run(dut, gap, backpressure):
    await start_clock(dut)
    tb = SpeculationTB(dut, gap, backpressure)
    await reset(dut)
    tb.watch_hat()
    g, hw = tb.np_rng, tb.hw
    d, dh, lmax = hw.d_model, hw.head_dim, hw.max_seq_len
    n_cases = int(os.environ.get("CASES", "8"))
    for case in range(n_cases):
        seq_len = [1, lmax, int(g.integers(2, lmax + 1))][min(case, 2)] if case < 3 else int(g.integers(1, lmax + 1))
        arith = random_arith(g, causal=bool(case % 2), rope=bool((case // 2) % 2),
                             mode=("range", "margin")[(case // 4) % 2], predictor=hw.predictor)
        x = g.integers(-128, 128, size=(seq_len, d))
        wq = g.integers(-128, 128, size=(d, dh))
        wk = g.integers(-128, 128, size=(d, dh))
        if case == 3:
            x[:] = -128
        elif case == 4:
            wk[:] = 0                       # k_hat = 0: every score equal
        await tb.job(x, wq, wk, arith, trace=int(case % 3 == 2))
    # grouped-query attention: a second query head on the same k_hat (project_k = 0); key_needed
    # is the union of both heads' masks; both traced (the second gives its q_hat rows only)
    seq_len = lmax
    arith = random_arith(g, predictor=hw.predictor)
    x = g.integers(-128, 128, size=(seq_len, d))
    wk = g.integers(-128, 128, size=(d, dh))
    _, kn = await tb.job(x, g.integers(-128, 128, size=(d, dh)), wk, arith, last_head=0, trace=1)
    await tb.job(x, g.integers(-128, 128, size=(d, dh)), wk, arith, project_k=0, prev_needed=kn, trace=1)


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5)])
async def random_and_corners(dut, stalls):
    """Causal and not, RoPE on and off, both DDF modes, 1 to 4 rounds, a single token and the
    maximum length, x = -128, all-equal scores, a GQA pair of heads; with and without stalls.
    Every third job and both GQA heads trace q_hat / k_hat; every job checks kept_round."""
    await _run(dut, *stalls)


@cocotb.test(skip="PERF_OUT" not in os.environ)
async def cycles_per_row(dut):
    """Measurement (no stalls): prediction cycles per query row at each L of PERF_LENGTHS against
    the ideal sum_r |C_r| * dh / peb_lanes; results (JSON) go to PERF_OUT. Checked like any job."""
    import json

    await start_clock(dut)
    tb = SpeculationTB(dut, 0.0, 0.0, monitor=os.environ.get("PERF_MONITOR", "1") == "1")
    await reset(dut)
    tb.watch_hat()
    g, hw = tb.np_rng, tb.hw
    arith = tb.cfg.arith
    out = []
    for seq_len in (int(v) for v in os.environ["PERF_LENGTHS"].split(",")):
        x = g.integers(-128, 128, size=(seq_len, hw.d_model))
        wq = g.integers(-128, 128, size=(hw.d_model, hw.head_dim))
        wk = g.integers(-128, 128, size=(hw.d_model, hw.head_dim))
        before = dict(tb.perf) if tb.perf else dict.fromkeys(PERF_FIELDS, 0)
        await tb.job(x, wq, wk, arith)
        perf = {n: tb.perf[n] - before[n] for n in PERF_FIELDS if n != "fifo_peak"}
        q_hat = predict_hat(x, wq, arith, arith.sh_qhat)
        k_hat = predict_hat(x, wk, arith, arith.sh_khat)
        cands = mrsa_rounds(q_hat, k_hat, arith).cands
        sizes = [int(c.sum()) for c in cands[:-1]]
        assert perf["pairs"] == sum(sizes) and perf["c1"] == sizes[0], (perf, sizes)
        ideal = sum(sizes) * hw.head_dim / hw.peb_lanes
        out.append({"L": seq_len, "C_r": sizes, "kept": int(cands[-1].sum()), **perf,
                    "ideal_predict_cycles": ideal,
                    "predict_cycles_per_row": perf["predict_cycles"] / seq_len,
                    "ideal_per_row": ideal / seq_len,
                    "projection_cycles_per_token": (perf["cycles"] - perf["predict_cycles"]) / seq_len,
                    "skipped_pairs": arith.n_rounds * sizes[0] - sum(sizes)})
        dut._log.warning("cycles: %s", out[-1])
    with open(os.environ["PERF_OUT"], "w") as f:
        json.dump(out, f, indent=1)
