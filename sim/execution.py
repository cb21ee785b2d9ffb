"""cocotb testbench of the execution unit: one KV head group driven with golden masks.

Every output is compared bit for bit with the golden model's stage functions
(`golden.execution.project`, `project_on_demand`, `execute_head`): the q/k/v rows in the order
the unit computes them (K and V only for needed keys, each once), every probability of every
kept pair, every o value. Masks come from the golden speculation path (`golden.model.run_layer`,
both DDF modes, causal or not) or are drawn at random (dense, one key per row).
"""

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from golden.execution import execute_head, project, project_on_demand
from golden.model import run_layer
from golden.rope import rope_table
from golden.speculation import key_needed
from lapa.config import ArithConfig
from rtl.execution.unit import KIND_K, KIND_Q, KIND_V, ExecutionUnit, exec_shape
from sim.streams import (StreamSink, StreamSource, key_beats, load_config, make_rng, pack, reset, start_clock,
                         unpack)


def model_cycles(hw, L, G, K, rows):
    """Busy cycles of one KV head group at full rate (no input gaps, no output back-pressure).

    LOAD, then two projections per needed key, then per query head a weight load and per row
    the front stage (q projection, one score per kept key in QC beats, softmax EXP/DIV/OUT),
    handed to the A.V stage (AC jobs over the row's keys), which overlaps the next row's front
    stage. `rows` [G][L] are the kept-key counts. Equal to the RTL's `perf.cycles` on every
    full-rate case (asserted in `run_case`)."""
    IC, JT, QC, AC = exec_shape(hw)
    proj = JT * IC
    clock = max(L, JT) * IC + K * (2 * proj + 13)
    av_free = 0
    for head in rows:
        clock += proj + 1
        for n in head:
            clock = max(clock + proj + 30 + (QC + 2) * n, av_free)  # front stage, then hand-off
            av_free = clock + AC * n + 5
            clock += 1
    return max(clock, av_free) + 1


def model_beats(hw, L, G, K, nnz):
    """(MAC array beats, A.V array beats): exact, whatever the stalls."""
    IC, JT, QC, AC = exec_shape(hw)
    return (2 * K + G * L) * JT * IC + QC * nnz, AC * nnz


def cycle_figures(hw, mask):
    """Cycles of one head (causal or any mask [L, L]) from the exact model, against the ideal
    MACs / PEs of each array, and the arrays' utilization (useful MACs / (PEs * cycles))."""
    L = mask.shape[-1]
    K, nnz = int(mask.any(axis=0).sum()), int(mask.sum())
    cycles = model_cycles(hw, L, 1, K, [mask.sum(axis=1).tolist()])
    pe1 = (L + 2 * K) * hw.d_model * hw.head_dim + nnz * hw.head_dim   # projections + Q.K
    pe2 = nnz * hw.head_dim                                              # A.V
    pes1, pes2 = hw.mac_rows * hw.mac_cols, hw.av_lanes
    return {"L": L, "key_needed": K, "nnz": nnz, "cycles": cycles,
            "ideal_all": (pe1 + pe2) / (pes1 + pes2), "ideal_mac_array": pe1 / pes1,
            "ideal_av_array": pe2 / pes2, "mac_array_util": pe1 / (pes1 * cycles),
            "av_array_util": pe2 / (pes2 * cycles)}


class ExecTB:
    """Drivers on every input stream, sinks with back-pressure on every output stream."""

    def __init__(self, dut, cfg, rng, gap, backpressure):
        self.dut, self.hw, self.rng = dut, cfg.hw, rng
        self.full_rate = gap == 0 and backpressure == 0
        self.unit = ExecutionUnit(cfg)  # for the port layouts only
        self.layouts = {name: self.unit.signature.members[name].signature.members["payload"].shape
                        for name in ("x", "wq", "wk", "wv", "needed", "kept", "proj", "probs", "o")}
        self.src = {name: StreamSource(dut, name, rng, gap=gap)
                    for name in ("x", "wq", "wk", "wv", "needed", "kept")}
        self.sink = {name: StreamSink(dut, name, rng, backpressure=backpressure)
                     for name in ("proj", "probs", "o")}
        self.cfg_layout = self.unit.signature.members["config"].shape
        dut.rope_w_en.value = 0
        dut.rope_w_addr.value = 0
        dut.rope_w_data.value = 0

    def set_config(self, arith, L, n_q_heads):
        fields = {name: int(getattr(arith, name)) for name in self.cfg_layout.members
                  if name not in ("seq_len", "n_q_heads")}
        fields.update(seq_len=L, n_q_heads=n_q_heads)
        self.dut.config.value = pack(self.cfg_layout, fields)

    async def load_rope_table(self, arith):
        """Write the host's (c, s) table for positions pos0 .. pos0 + max_seq_len - 1."""
        c, s = rope_table(self.hw.max_seq_len, self.hw.head_dim, arith.rope_base, arith.pos0)
        layout = self.unit.signature.members["rope_w_data"].shape
        for t in range(self.hw.max_seq_len):
            await FallingEdge(self.dut.clk)
            self.dut.rope_w_addr.value = t
            self.dut.rope_w_data.value = pack(layout, {"c": c[t].tolist(), "s": s[t].tolist()})
            self.dut.rope_w_en.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.rope_w_en.value = 0

    def tiles(self, w):
        R, C = self.hw.mac_rows, self.hw.mac_cols
        for jt in range(self.hw.head_dim // R):
            for ic in range(self.hw.d_model // C):
                blk = w[ic * C:(ic + 1) * C, jt * R:(jt + 1) * R].T
                yield pack(self.layouts["wk"], blk.tolist())

    def drive(self, x, wq, wk, wv, mask, arith):
        """Queue one KV head group's inputs (wq [G, D, dh], wk/wv [D, dh], mask [G, L, L]) behind
        whatever is queued; return the golden (proj, probs, o) beats and the shape figures."""
        hw = self.hw
        G, L = wq.shape[0], x.shape[0]
        C, A, dh = hw.mac_cols, hw.av_lanes, hw.head_dim
        needed = key_needed(mask)
        table = rope_table(L, dh, arith.rope_base, arith.pos0) if arith.rope else None
        q = [project(x, wq[h], arith.m_q, arith.n_q, table) for h in range(G)]
        k = project_on_demand(x, wk, arith.m_k, arith.n_k, needed, table)
        v = project_on_demand(x, wv, arith.m_v, arith.n_v, needed)
        heads = [execute_head(q[h], k, v, mask[h], arith) for h in range(G)]

        self.src["x"].send_all(pack(self.layouts["x"], x[t, i:i + C].tolist())
                               for t in range(L) for i in range(0, hw.d_model, C))
        self.src["wk"].send_all(self.tiles(wk))
        self.src["wv"].send_all(self.tiles(wv))
        keys = np.flatnonzero(needed)
        self.src["needed"].send_all(key_beats(self.layouts["needed"], keys))
        for h in range(G):
            self.src["wq"].send_all(self.tiles(wq[h]))
            for t in range(L):
                self.src["kept"].send_all(key_beats(self.layouts["kept"], np.flatnonzero(mask[h, t])))

        want = {"proj": [(kind, s, rows[s].tolist()) for s in keys for kind, rows in ((KIND_K, k), (KIND_V, v))]
                + [(KIND_Q, t, q[h][t].tolist()) for h in range(G) for t in range(L)],
                "probs": [(int(heads[h][0][t, s]), int(s == np.flatnonzero(mask[h, t])[-1]))
                          for h in range(G) for t in range(L) for s in np.flatnonzero(mask[h, t])],
                "o": [(t, c, heads[h][1][t, c * A:(c + 1) * A].tolist())
                      for h in range(G) for t in range(L) for c in range(dh // A)]}
        return want, (L, G, int(needed.sum()), int(mask.sum()), mask.sum(axis=2).tolist())

    async def run_case(self, x, wq, wk, wv, mask, arith, label):
        """Drive one KV head group and check every output beat and the perf counters."""
        return await self.run_groups([(x, wq, wk, wv, mask)], arith, label)

    async def run_groups(self, groups, arith, label):
        """Queue several KV head groups of one shape back to back (each group's `needed` right
        behind the previous one's `last`), then check every output beat and the perf counters."""
        hw, dut = self.hw, self.dut
        L, G = groups[0][0].shape[0], groups[0][1].shape[0]
        self.set_config(arith, L, G)
        if arith.rope:
            await self.load_rope_table(arith)
        perf_layout = self.unit.signature.members["perf"].shape
        before = perf_layout.from_bits(int(dut.perf.value))
        driven = [self.drive(*g, arith) for g in groups]
        want = {name: [b for w, _ in driven for b in w[name]] for name in ("proj", "probs", "o")}
        figures = [f for _, f in driven]
        budget = 200 * sum(L * hw.d_model + nnz * hw.head_dim + 100 for _, _, _, nnz, _ in figures)
        fields = {"proj": ("kind", "row", "data"), "probs": ("prob", "last"), "o": ("row", "chunk", "data")}
        for name, names in fields.items():
            beats = await self.sink[name].get(len(want[name]), budget)
            got = [unpack(self.layouts[name], b) for b in beats]
            got = [tuple([int(e) for e in getattr(p, f)] if f == "data" else int(getattr(p, f)) for f in names)
                   for p in got]
            for j, (g, w) in enumerate(zip(got, want[name])):
                assert g == w, f"{label}: {name} beat {j}: got {names} {g}, want {w}"
        for _ in range(4):  # back in START: nothing more comes out
            await RisingEdge(dut.clk)
        assert not any(s.items for s in self.sink.values()), f"{label}: extra output beats"
        after = perf_layout.from_bits(int(dut.perf.value))
        perf = {name: int(getattr(after, name)) - int(getattr(before, name)) for name in perf_layout.members}
        K = sum(f[2] for f in figures)
        assert perf["kv_rows"] == K, f"{label}: {perf['kv_rows']} K/V rows computed, {K} keys needed"
        beats = [model_beats(self.hw, Lg, Gg, Kg, nnz) for Lg, Gg, Kg, nnz, _ in figures]
        assert (perf["mac_beats"], perf["av_beats"]) == tuple(map(sum, zip(*beats))), f"{label}: PE beats {perf}"
        if self.full_rate and len(groups) == 1:
            Lg, Gg, Kg, _, rows = figures[0]
            want_cycles = model_cycles(self.hw, Lg, Gg, Kg, rows)
            assert perf["cycles"] == want_cycles, f"{label}: {perf['cycles']} cycles, the cycle model says {want_cycles}"
        if os.environ.get("EXEC_PERF_LOG"):
            with open(os.environ["EXEC_PERF_LOG"], "a") as f:
                Lg, Gg, Kg, _, rows = figures[0]
                f.write(json.dumps({"label": label, "L": Lg, "G": Gg, "K": Kg, "rows": rows, **perf}) + "\n")
        return perf


def random_arith(rng, **over):
    a = dict(causal=rng.random() < 0.5, ddf_mode=rng.choice(["range", "margin"]),
             round_eta=(rng.choice([0, 64, 128, 256]), rng.choice([0, 128, 200, 256])),
             round_margin=(rng.randint(0, 200), rng.randint(0, 400)),
             m_q=rng.randint(1, 65535), n_q=rng.randint(16, 24), m_k=rng.randint(1, 65535),
             n_k=rng.randint(16, 24), m_v=rng.randint(1, 65535), n_v=rng.randint(16, 24),
             m_o=rng.randint(1, 65535), n_o=rng.randint(20, 32),
             sm_mult=rng.randint(1, 65535), sm_shift=rng.randint(8, 20), sm_frac_bits=rng.randint(1, 8))
    a.update(over)
    return ArithConfig(**a)


def make_case(rng, hw, L, G, arith, mask_kind):
    nrng = np.random.default_rng(rng.randrange(2**32))
    x = nrng.integers(-128, 128, (L, hw.d_model), dtype=np.int64).astype(np.int8)
    wq = nrng.integers(-128, 128, (G, hw.d_model, hw.head_dim), dtype=np.int64).astype(np.int8)
    wk, wv = (nrng.integers(-128, 128, (hw.d_model, hw.head_dim), dtype=np.int64).astype(np.int8) for _ in range(2))
    if mask_kind == "speculation":
        mask = run_layer(x, wq, wk[None], wv[None], arith)["mask"]
    elif mask_kind == "dense":
        mask = np.broadcast_to(np.tril(np.ones((L, L), dtype=bool)) if arith.causal else np.ones((L, L), dtype=bool),
                               (G, L, L)).copy()
    elif mask_kind.startswith("density"):  # each candidate pair kept with this probability
        p = float(mask_kind.split("=")[1])
        cand = np.tril(np.ones((L, L), dtype=bool)) if arith.causal else np.ones((L, L), dtype=bool)
        mask = cand & (nrng.random((G, L, L)) < p)
        mask[:, np.arange(L), nrng.integers(0, np.arange(L) + 1 if arith.causal else L)] = True
    else:  # one random key per row (a probability of 65535 everywhere)
        mask = np.zeros((G, L, L), dtype=bool)
        for h in range(G):
            for t in range(L):
                mask[h, t, nrng.integers(0, t + 1 if arith.causal else L)] = True
    return x, wq, wk, wv, mask


async def _run(dut, gap, backpressure):
    cfg = load_config()
    hw = cfg.hw
    await start_clock(dut)
    rng = make_rng(dut._log)
    tb = ExecTB(dut, cfg, rng, gap, backpressure)
    await reset(dut)
    group = hw.n_heads // hw.n_kv_heads
    Lmax = hw.max_seq_len
    cases = [
        (Lmax, group, random_arith(rng), "speculation"),                       # maximum length, GQA
        (Lmax, group, random_arith(rng, rope=True, rope_base=rng.choice([10000, 500000, 1, 2**20]),
                                   pos0=rng.choice([0, rng.randint(1, 2**16)])), "speculation"),
        (Lmax, 1, random_arith(rng, rope=True, pos0=2**16, causal=False), "dense"),
        (Lmax, 1, random_arith(rng, causal=False, ddf_mode="margin"), "speculation"),
        (Lmax, group, random_arith(rng, causal=True, ddf_mode="range"), "speculation"),
        (1, 1, random_arith(rng), "speculation"),                              # a single token
        (rng.randint(2, Lmax), group, random_arith(rng, causal=False), "dense"),  # all keys kept
        (rng.randint(2, Lmax), 1, random_arith(rng, sm_mult=65535, sm_shift=0), "dense"),  # E underflow
        (rng.randint(2, Lmax), group, random_arith(rng, m_q=65535, n_q=8, m_o=65535, n_o=4), "single"),
    ]
    for j, (L, G, arith, mask_kind) in enumerate(cases):
        label = f"case {j} (L={L}, heads={G}, {mask_kind}, causal={arith.causal}, ddf={arith.ddf_mode})"
        await tb.run_case(*make_case(rng, hw, L, G, arith, mask_kind), arith, label)
    # Back to back: the next group's `needed` queued right behind this one's `last`. Every key
    # of the dense group is computed, so a request of the next group taken early would be
    # deduplicated against it (its K/V never computed).
    arith = random_arith(rng, causal=False)
    await tb.run_groups([make_case(rng, hw, Lmax, group, arith, kind) for kind in ("dense", "speculation", "dense")],
                        arith, "back to back (dense, speculation, dense)")


@cocotb.test()
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.4)])
async def head_groups(dut, stalls):
    """Golden-speculation, dense and one-key masks; GQA; RoPE on/off; L = 1 and max_seq_len;
    groups queued back to back; at full rate, then with random source gaps and sink back-pressure."""
    await _run(dut, *stalls)


@cocotb.test(skip="EXEC_MEASURE" not in os.environ)
async def measure_cycles(dut):
    """Cycle figures (run on request, `EXEC_MEASURE` = JSON list of [L, G, mask_kind, causal]):
    full rate, every output still checked; perf written to `EXEC_PERF_LOG`."""
    cfg = load_config()
    await start_clock(dut)
    rng = make_rng(dut._log)
    tb = ExecTB(dut, cfg, rng, 0.0, 0.0)
    await reset(dut)
    for L, G, mask_kind, causal in json.loads(os.environ["EXEC_MEASURE"]):
        arith = random_arith(rng, causal=bool(causal), rope=rng.random() < 0.5)
        await tb.run_case(*make_case(rng, cfg.hw, L, G, arith, mask_kind), arith,
                          f"measure L={L} G={G} {mask_kind} causal={causal}")
