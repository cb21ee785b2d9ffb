# amaranth: UnusedElaboratable=no
"""The cycle model (`perf`, `build.py perf`) against the C++ Verilator harness.

One harness build (test_harness's configuration, shared with it through the harness cache) runs
production jobs (CTRL.trace = 0, no stalls) of several shapes: one token, GQA 9/3 at the maximum
length, MHA without causal mask and with RoPE, margin mode with 1, 3 and 4 rounds, corner values.
The model's CYCLES_TOTAL must be within 2 % of the harness's, and what the RTL counts exactly
(PAIRS_ROUND*, KV_ROWS, CYCLES_STALL = read bursts, the AXI read and write beats of the harness
memory) must equal the model's. The error table is printed."""

import json

import numpy as np
import pytest

from golden.example import example_layer
from golden.model import run_layer
from host.harness import run_harness_jobs
from host.job import COUNTERS
from lapa.cli import main
from lapa.config import HardwareConfig, LapaConfig
from lapa.vectors import LayerInputs
from perf import predict, profile_from_inputs, profile_from_outputs
from tests.test_top import CFG, HW, corner_layer, exact_cases, layer

TOLERANCE = 0.02        # issue 15: within 2 % of the RTL on every tested case
EXACT = ("cycles_stall", *(c for c in COUNTERS if c.startswith("pairs_round")), "kv_rows")


def perf_jobs():
    return [
        ("one token", layer(1, 1, 1, 2)),
        ("GQA 9/3, L max", layer(32, 9, 3, 1)),
        ("MHA 4/4, not causal, RoPE", layer(7, 4, 4, 3, causal=False, rope=True, pos0=5)),
        ("margin, 3 rounds, RoPE", layer(20, 9, 3, 4, ddf_mode="margin", round_bits=(2, 3, 3), round_eta=(0, 0, 0),
                                         round_margin=(3000, 2000, 1000), rope=True)),
        ("margin, 1 round", layer(13, 4, 2, 5, ddf_mode="margin", round_bits=(8,), round_eta=(0,),
                                  round_margin=(2500,))),
        ("margin, 4 rounds, not causal", layer(9, 2, 1, 6, ddf_mode="margin", round_bits=(2, 2, 2, 2),
                                               round_eta=(0,) * 4, round_margin=(400, 300, 200, 100),
                                               causal=False)),
        ("corner values", corner_layer(16, 7)),
    ]


@pytest.fixture(scope="module")
def compared():
    named = perf_jobs()
    jobs = [j for _, j in named]
    stats = []
    runs = run_harness_jobs(jobs, CFG, progress=False, trace=False, stats=stats)
    rows = []
    for (name, inputs), (_, counters), st in zip(named, runs, stats):
        gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
        rec = predict(profile_from_outputs(inputs, gold), HW)
        rows.append((name, inputs, counters, st, rec))
    print("\ncycle model against the harness (production jobs, no stalls):")
    print(f"{'case':32} {'L':>3} {'H/Hkv':>5} {'RTL cycles':>10} {'model':>10} {'error':>7} "
          f"{'spec RTL':>9} {'model':>9} {'exec RTL':>9} {'model':>9}")
    for name, inputs, c, st, rec in rows:
        L, _, _, H, Hkv = inputs.shape
        err = (rec["cycles"] - c["cycles_total"]) / c["cycles_total"]
        print(f"{name:32} {L:>3} {H:>2}/{Hkv:<2} {c['cycles_total']:>10,} {rec['cycles']:>10,} {100 * err:>+6.2f}% "
              f"{c['cycles_spec']:>9,} {rec['cycles_spec']:>9,} {c['cycles_exec']:>9,} {rec['cycles_exec']:>9,}")
    worst = max(abs(rec["cycles"] - c["cycles_total"]) / c["cycles_total"] for _, _, c, _, rec in rows)
    print(f"worst cycles error {100 * worst:.2f} %")
    return rows


def test_cycles_within_two_percent(compared):
    for name, _, c, _, rec in compared:
        err = abs(rec["cycles"] - c["cycles_total"]) / c["cycles_total"]
        assert err <= TOLERANCE, f"{name}: model {rec['cycles']} vs RTL {c['cycles_total']} ({100 * err:.2f} %)"


def test_counters_exact(compared):
    for name, _, c, st, rec in compared:
        for key in EXACT:
            assert rec[key] == c[key], f"{name}: {key} model {rec[key]} vs RTL {c[key]}"
        a = rec["actions"]
        assert a["axi_read_total"] == 8 * st["axi_read_beats"], f"{name}: AXI bytes read"
        assert a["axi_written_total"] == 8 * st["axi_write_beats"], f"{name}: AXI bytes written"


def test_profile_from_inputs_matches_outputs():
    """A vector file without outputs: the golden speculation path gives the same profile."""
    inputs = layer(12, 4, 2, 8, rope=True)
    gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
    a, b = profile_from_inputs(inputs), profile_from_outputs(inputs, gold)
    for field in ("cands", "mask", "key_needed"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    ra, rb = predict(a, HW), predict(b, HW)
    assert ra["cycles"] == rb["cycles"] and ra["actions"] == rb["actions"]


def test_dense_has_no_speculation_and_more_execution(tmp_path):
    """The dense design: every pair of C_1, no speculation unit, more execution cycles than lapa's."""
    lapa = layer(24, 4, 2, 9)
    dense = layer(24, 4, 2, 9, predictor="dense")
    rl = predict(profile_from_inputs(lapa), HW)
    rd = predict(profile_from_inputs(dense), HW)
    assert rd["cycles_spec"] == 0 and rd["actions"]["pea_beats"] == 0
    L = 24
    assert rd["actions"]["softmax_elements"] == 4 * L * (L + 1) // 2
    assert rd["kv_rows"] == 2 * L
    assert rd["actions"]["macs"] > rl["actions"]["macs"]


def model_against_harness(jobs, hw, tag):
    """The jobs on `hw`'s harness build (production, no stalls): the model's cycles within
    TOLERANCE of the RTL's, the EXACT counters and the AXI bytes read equal."""
    stats = []
    runs = run_harness_jobs(jobs, LapaConfig(hw=hw), progress=False, trace=False, stats=stats)
    for n, (inputs, (_, c), st) in enumerate(zip(jobs, runs, stats)):
        gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
        rec = predict(profile_from_outputs(inputs, gold), hw)
        err = (rec["cycles"] - c["cycles_total"]) / c["cycles_total"]
        print(f"{tag} {n} L {inputs.shape[0]}: RTL {c['cycles_total']:,}, model {rec['cycles']:,} ({100 * err:+.2f} %)")
        assert abs(err) <= TOLERANCE, f"{tag} {n}: model {rec['cycles']} vs RTL {c['cycles_total']}"
        for key in EXACT:
            assert rec[key] == c[key], f"{tag} {n}: {key} model {rec[key]} vs RTL {c[key]}"
        assert rec["actions"]["axi_read_total"] == 8 * st["axi_read_beats"], f"{tag} {n}: AXI bytes read"


def test_symlo_cycles_match_the_rtl(tmp_path, capsys):
    """symlo (LAPA's unit and schedule with the combinational x-LOE) on its own harness build:
    the model within TOLERANCE of the RTL, the work counters exact; `build.py perf` on a symlo
    vector file schedules it (the same record as `predict`)."""
    from tests.test_top import SYMLO_CFG

    jobs = [layer(32, 9, 3, 61, predictor="symlo", rope=True),
            layer(20, 9, 3, 62, predictor="symlo", ddf_mode="margin", round_bits=(2, 3, 3), round_eta=(0, 0, 0),
                  round_margin=(3000, 2000, 1000))]
    model_against_harness(jobs, SYMLO_CFG.hw, "symlo job")
    vec, out = tmp_path / "s.npz", tmp_path / "s.json"
    assert main(["example", str(vec), "--seq-len", "16", "--d-model", "32", "--head-dim", "16", "--n-heads", "2",
                 "--n-kv-heads", "1", "--predictor", "symlo"]) == 0
    assert main(["perf", str(vec), "--json", str(out)]) == 0
    rec = json.loads(out.read_text())
    from lapa.vectors import load_vectors

    want = predict(profile_from_inputs(load_vectors(str(vec))), HardwareConfig(**rec["hardware"]))
    assert rec["predictor"] == "symlo" and rec["cycles"] == want["cycles"] > 0 and rec["actions"]["pea_beats"] > 0


def test_build_perf_json(tmp_path, capsys):
    out = tmp_path / "p.json"
    rc = main(["perf", "--seq-len", "16", "--d-model", "32", "--head-dim", "16", "--n-heads", "2",
               "--n-kv-heads", "1", "--sram", "--json", str(out)])
    assert rc == 0
    rec = json.loads(out.read_text())
    sram = rec["sram"]
    assert sram["bits"] == sum(b["bits"] for b in sram["buffers"] if b["sram"]) == sum(sram["by_unit"].values())
    # the execution unit's x buffer holds every token: L x D bytes (max_seq_len 16, D 32)
    assert {"path": "core/exec/proj_feed/x_buf", "width": 64, "depth": 16 * 32 // 8, "bits": 16 * 32 * 8,
            "sram": True} in sram["buffers"]
    assert isinstance(rec["cycles"], int) and rec["cycles"] == rec["cycles_total"] > 0
    assert rec["shape"] == {"L": 16, "D": 32, "dh": 16, "H": 2, "Hkv": 1}
    assert "cycles" in capsys.readouterr().out


def test_build_perf_vector_file(tmp_path, capsys):
    vec = tmp_path / "v.npz"
    assert main(["example", str(vec), "--seq-len", "8", "--d-model", "16", "--head-dim", "8",
                 "--n-heads", "2", "--n-kv-heads", "1"]) == 0
    assert main(["perf", str(vec)]) == 0
    assert "cycle model: L=8 D=16" in capsys.readouterr().out


@pytest.mark.parametrize("argv,fragment", [
    (["perf", "{missing}"], "missing.npz"),
    (["perf", "{vec}", "--seq-len", "8"], "--seq-len"),
    (["perf", "--seq-len", "0"], "--seq-len = 0"),
    (["perf", "{vec}", "--max-seq-len", "4"], "max-seq-len"),
    (["perf", "--seq-len", "8", "--d-model", "16", "--head-dim", "8", "--n-heads", "2", "--n-kv-heads", "1",
      "--json", "{tmp}/no/such/dir/p.json"], "no/such/dir"),
])
def test_build_perf_bad_input(tmp_path, capsys, argv, fragment):
    vec = tmp_path / "v.npz"
    assert main(["example", str(vec), "--seq-len", "8", "--d-model", "16", "--head-dim", "8",
                 "--n-heads", "2", "--n-kv-heads", "1"]) == 0
    capsys.readouterr()
    argv = [a.format(vec=vec, tmp=tmp_path, missing=tmp_path / "missing.npz") for a in argv]
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err


HW2 = HardwareConfig(d_model=64, head_dim=32, max_seq_len=64, n_heads=4, n_kv_heads=2,
                     pea_lanes=8, peb_lanes=4, mac_rows=4, mac_cols=4, av_lanes=4)


def _layer2(L, H, Hkv, seed, **arith):
    cal = example_layer(L, HW2.d_model, HW2.head_dim, H, Hkv, seed=seed)
    return LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith.replace(**arith))


@pytest.mark.slow
@pytest.mark.parametrize("predictor", ["sanger", "topk"])
def test_exact_predictors_against_the_harness(predictor):
    """sanger / topk (the execution unit's pre-phase feeding the predictor in the slot): the jobs of
    tests/test_top.py (one token, GQA 9/3 at the maximum length, MHA not causal with RoPE, ...)
    through the C++ harness (a build per predictor: `-m slow`), production jobs: the model within
    2 % (measured -0.21 .. +0.95 %), the counters and AXI read beats exact, and the hardware's own action counts (q
    projected twice per head, k of every token once per group) against SPEC 7's accounting."""
    hw = HW.replace(predictor=predictor)
    jobs = exact_cases(predictor)
    stats = []
    runs = run_harness_jobs(jobs, LapaConfig(hw=hw), progress=False, trace=False, stats=stats)
    for n, (inputs, (_, c), st) in enumerate(zip(jobs, runs, stats)):
        L, D, dh, H, Hkv = inputs.shape
        gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
        rec = predict(profile_from_outputs(inputs, gold), hw)
        err = (rec["cycles"] - c["cycles_total"]) / c["cycles_total"]
        print(f"{predictor} job {n} L {L} H {H}/{Hkv}: RTL {c['cycles_total']:,}, model {rec['cycles']:,} "
              f"({100 * err:+.2f} %); spec RTL {c['cycles_spec']:,} model {rec['cycles_spec']:,}")
        assert abs(err) <= TOLERANCE, f"{predictor} job {n}: {100 * err:+.2f} %"
        for key in EXACT:
            assert rec[key] == c[key], f"{predictor} job {n}: {key} model {rec[key]} vs RTL {c[key]}"
        a = rec["actions"]
        assert a["axi_read_total"] == 8 * st["axi_read_beats"], f"{predictor} job {n}: AXI read"
        assert a["q_rows"] == 2 * H * L and a["k_rows"] == Hkv * L and a["kv_rows"] == int(gold["key_needed"].sum())
        assert a["macs"] > int(gold["exec_macs"]), "the hardware's MACs include the second q and the pre-phase"


@pytest.mark.slow
def test_second_configuration():
    """Other lanes (PEB 8 beats a key, 2 beats a score, A.V 8 jobs a row) on a second harness build
    (about 4 min to build on the loaded 2-core machine): measured -0.32 % .. -0.05 %."""
    jobs = [_layer2(1, 1, 1, 2), _layer2(64, 4, 2, 1), _layer2(40, 4, 4, 3, causal=False, rope=True),
            _layer2(50, 4, 1, 4, ddf_mode="margin", round_bits=(2, 3, 3), round_eta=(0, 0, 0),
                    round_margin=(3000, 2000, 1000)),
            _layer2(64, 2, 2, 5, round_bits=(4, 4), round_eta=(256, 256), round_margin=(0, 0))]
    model_against_harness(jobs, HW2, "job")


# ---- The sweep's shape (sweeps/lanes1024.toml): D 64, dh 32, H 2 / Hkv 1, 4 x 8 MACs, 4 A.V lanes,
# PEA x PEB lanes, 6 + 2 bit rounds at margin 8 / 6 / 5 nats, the sweep's own example layer.
# Before the fix (survivors spread evenly over the DDF scan, the mask unpacker starting a row's
# words only when SCORE began), the model was +1.8 .. +5.8 % over the RTL at L = 1024 here.

def _sweep_job(pea, peb, L, margin):
    import dataclasses

    from dse.params import defaults
    from dse.tasks.layer import example_inputs
    from evaluation.sweep import DEFAULT_SETTING

    hw = HardwareConfig(d_model=64, head_dim=32, n_heads=2, n_kv_heads=1, max_seq_len=1024, mac_rows=4,
                        mac_cols=8, av_lanes=4, pea_lanes=pea, peb_lanes=peb)
    params = defaults()
    params.update({f.name: getattr(hw, f.name) for f in dataclasses.fields(HardwareConfig)})
    setting = dataclasses.replace(DEFAULT_SETTING, ddf_mode="margin", round_bits=(6, 2),
                                  margin_nats=(margin, margin)).to_dict()
    params.update(seq_len=L, seed=0, predictor="lapa", setting=setting)
    return hw, example_inputs(params)


def _compare_sweep_shape(lanes, lengths, margins):
    rows = []
    for pea, peb in lanes:
        named = [(L, m, *_sweep_job(pea, peb, L, m)) for L in lengths for m in margins]
        hw = named[0][2]
        stats = []
        runs = run_harness_jobs([inp for *_, inp in named], LapaConfig(hw=hw), progress=False, trace=False,
                                stats=stats)
        for (L, m, _, inputs), (_, c), st in zip(named, runs, stats):
            gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
            rec = predict(profile_from_outputs(inputs, gold), hw)
            err = (rec["cycles"] - c["cycles_total"]) / c["cycles_total"]
            print(f"PEA {pea:2} / PEB {peb:2}, L {L:4}, margin {m}: RTL {c['cycles_total']:>10,} model "
                  f"{rec['cycles']:>10,} ({100 * err:+.2f} %); spec RTL {c['cycles_spec']:,} model {rec['cycles_spec']:,}")
            rows.append((f"PEA {pea} / PEB {peb}, L {L}, margin {m}", c, st, rec, err))
    for name, c, st, rec, err in rows:
        assert abs(err) <= TOLERANCE, f"{name}: model {rec['cycles']} vs RTL {c['cycles_total']} ({100 * err:+.2f} %)"
        for key in EXACT:
            assert rec[key] == c[key], f"{name}: {key} model {rec[key]} vs RTL {c[key]}"
        assert rec["actions"]["axi_read_total"] == 8 * st["axi_read_beats"], f"{name}: AXI read"
    return rows


def test_sweep_shape_small():
    """Two lane pairs (PEB 16: two beats a key, PEB 32: one), margins 8 and 5, L = 128 and 256:
    one harness build per lane pair (max_seq_len 1024, as the sweep's)."""
    _compare_sweep_shape([(8, 16), (16, 32)], [128, 256], [8.0, 5.0])


@pytest.mark.slow
def test_sweep_shape_1024():
    """The sweep's twelve lapa points at L = 1024 (about a CPU-minute of harness each)."""
    _compare_sweep_shape([(8, 16), (8, 32), (16, 16), (16, 32)], [1024], [8.0, 6.0, 5.0])


# ---- Row by row against Amaranth simulations of the blocks (no harness build)

def _predictor_rows(peb_lanes, L, round_bits, margin, causal):
    """The cycle of every row's last `kept` beat of rtl.speculation.lapa_predictor (Amaranth simulation, kept
    always ready) and the model's (perf.schedule.mrsa_rows), from the same first load."""
    from amaranth.sim import Simulator

    from golden.speculation import initial_candidates, mrsa_rounds
    from perf.profile import Profile, survivor_positions
    from perf.schedule import mrsa_rows
    from rtl.speculation.lapa_predictor import LapaPredictor, lapa_config_layout
    from rtl.speculation.unit import spec_config_layout

    dh = 32
    cal = example_layer(L, 64, dh, 1, 1, seed=3, causal=causal, ddf_mode="margin", round_bits=round_bits,
                        margin_nats=margin, eta=(0.5,) * len(round_bits))
    arith = cal.arith
    gold = run_layer(cal.x, cal.wq, cal.wk, cal.wv, arith)
    q_hat, k_hat = (np.asarray(gold[n]).reshape(L, dh) for n in ("q_hat", "k_hat"))
    hw = HardwareConfig(d_model=64, head_dim=dh, n_heads=1, n_kv_heads=1, max_seq_len=max(16, L),
                        pea_lanes=16, peb_lanes=peb_lanes, mac_rows=4, mac_cols=8, av_lanes=4)
    dut = LapaPredictor(hw, lapa_config_layout(spec_config_layout(hw)))
    R, pad = arith.n_rounds, hw.max_rounds - arith.n_rounds
    ends, start, stored_at = [], [], []

    async def bench(ctx):
        cfg, job, rows, kept = dut.config, dut.slot.job, dut.rows, dut.slot.kept
        for name, v in (("n_rounds", R), ("ddf_mode", 1), ("eta_frac_bits", arith.eta_frac_bits)):
            ctx.set(getattr(cfg, name), v)
        for r in range(hw.max_rounds):
            for name in ("round_bits", "round_margin", "round_eta"):
                ctx.set(getattr(cfg, name)[r], (list(getattr(arith, name)) + [0] * pad)[r])
        for name, v in (("seq_len", L), ("causal", int(causal)), ("first_head", 1), ("last_head", 0), ("trace", 0)):
            ctx.set(getattr(job, name), v)
        ctx.set(kept.ready, 1)
        ctx.set(dut.slot.start, 1)
        await ctx.tick()
        ctx.set(dut.slot.start, 0)
        # the projector's rows, q_hat then k_hat of each token, one beat every `gap` cycles (rows
        # slower than the prediction at first, so rows wait for them; then back to back)
        beats = [(t, is_k, arr) for t in range(L) for is_k, arr in ((0, q_hat), (1, k_hat))]
        cycle, nxt = 0, 0
        while ctx.get(dut.slot.busy) or nxt < len(beats):
            feed = nxt < len(beats) and (nxt >= L or cycle % 40 == 0)
            ctx.set(rows.valid, int(feed))
            if feed:
                t, is_k, arr = beats[nxt]
                ctx.set(rows.payload, {"row": t, "is_k": is_k, "data": [int(v) for v in arr[t]]})
                if is_k:
                    stored_at.append(cycle)         # the token's last row in
                nxt += 1
            if not start and ctx.get(dut.perf.predict_cycles):
                start.append(cycle - 1)            # the first load_q cycle
            if ctx.get(kept.valid) and ctx.get(kept.payload.last):
                ends.append(cycle)
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    res = mrsa_rounds(q_hat, k_hat, arith, initial_candidates(L, causal))
    counts = np.stack([c.sum(axis=1) for c in res.cands[:-1]])[None]
    prof = Profile((L, 64, dh, 1, 1), causal, False, "lapa", counts, res.cands[-1][None], np.zeros((1, L), bool),
                   (tuple(survivor_positions(res.cands[r], res.cands[r + 1]) for r in range(R - 1)),))
    # load_q, then capture_q, then the first candidate load; a row's first load at the earliest
    # two cycles after load_q sees `stored` past it (a cycle after its last row came in)
    ready = [v + 3 for v in stored_at] if causal else [stored_at[-1] + 3] * L
    return ends, mrsa_rows(prof, 0, dh // peb_lanes, start[0] + 2, row_ready=ready)


@pytest.mark.parametrize("peb_lanes,L,round_bits,margin,causal", [
    (32, 48, (6, 2), (5.0, 5.0), True),            # the sweep's rounds, one beat a key
    (16, 48, (6, 2), (8.0, 8.0), True),            # two beats a key
    (4, 24, (2, 2, 2, 2), (12.0, 10.0, 8.0, 6.0), False),  # eight beats a key, four rounds
    (32, 40, (8,), (30.0,), True),                 # one round, dense survivors
])
def test_mrsa_rows_match_the_predictor(peb_lanes, L, round_bits, margin, causal):
    """Every row's last kept beat: model (perf.schedule.mrsa_rows) = Amaranth simulation of the
    predictor, to the cycle (the DDF's survivor positions decide when the next round is fed)."""
    ends, model = _predictor_rows(peb_lanes, L, round_bits, margin, causal)
    assert len(ends) == L
    assert ends == model, [(t, a, b) for t, (a, b) in enumerate(zip(ends, model)) if a != b][:5]
