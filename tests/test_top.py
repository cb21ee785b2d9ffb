# amaranth: UnusedElaboratable=no
"""The whole accelerator end to end: vector files through the generated top level (cocotb, AXI RAM
and AXI-Lite master models) against the golden model, bit for bit, on one build per configuration."""

import numpy as np
import pytest

from golden.example import example_layer
from golden.model import run_layer
from lapa.config import HardwareConfig, LapaConfig
from lapa.errors import UserError
from lapa.vectors import LayerInputs
from rtl.generate import top_verilog
from rtl.soc.regmap import ERROR_CODES
from host.job import check_fits, hw_for_layer
from sim.layer import run_rtl_jobs
from sim.lint import lint_verilog

from . import coverage_bins

OUTPUTS = ("q_hat", "k_hat", "q", "k", "v", "mask", "key_needed", "probs", "o")
HW = HardwareConfig(d_model=32, head_dim=16, max_seq_len=32, n_heads=9, n_kv_heads=3,
                    pea_lanes=16, peb_lanes=16, mac_rows=2, mac_cols=8, av_lanes=8)
CFG = LapaConfig(hw=HW)


def layer(L, H, Hkv, seed, **arith):
    cal = example_layer(L, HW.d_model, HW.head_dim, H, Hkv, seed=seed)
    return LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith.replace(**arith))


def corner_layer(L, seed):
    """x of zeros and -128, weights of -128 / 0 / 127: saturation and zero LO codes."""
    rng = np.random.default_rng(seed)
    base = layer(L, 1, 1, seed)
    x = rng.choice(np.array([-128, 0, 127, 1], np.int8), size=base.x.shape)
    x[0] = 0
    ws = [rng.choice(np.array([-128, 0, 127, -1], np.int8), size=w.shape) for w in (base.wq, base.wk, base.wv)]
    return LayerInputs(x, *ws, base.arith)


def cases():
    return [
        layer(32, 9, 3, 1),                                          # maximum length, GQA 9/3
        layer(1, 1, 1, 2),                                           # one token
        layer(7, 4, 4, 3, causal=False, rope=True, pos0=5),          # MHA, not causal, RoPE
        layer(20, 9, 3, 4, ddf_mode="margin", round_bits=(2, 3, 3), round_eta=(0, 0, 0),
              round_margin=(3000, 2000, 1000), rope=True),           # margin mode, three rounds
        layer(13, 4, 2, 5, round_bits=(8,), round_eta=(200,), round_margin=(0,)),  # one round
        layer(9, 2, 1, 6, round_bits=(2, 2, 2, 2), round_eta=(256, 256, 256, 256),
              round_margin=(0, 0, 0, 0), causal=False),               # four rounds, keep all
        corner_layer(16, 7),
    ]


def check(inputs, out, counters, tag):
    """Every output and counter against golden; returns the job's coverage bins."""
    gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
    for name in OUTPUTS:
        assert out[name].shape == gold[name].shape, f"{tag}: {name} shape"
        bad = np.argwhere(out[name] != gold[name])
        assert bad.size == 0, f"{tag}: {name} differs at {bad[:5].tolist()} ({len(bad)} places)"
    rounds = gold["round_candidates"].sum(axis=0)   # |C_1| .. |C_R| summed over heads
    kept = list(rounds[1:]) + [int(gold["mask"].sum())]
    for r, want in enumerate(kept):
        assert counters[f"pairs_round{r + 1}"] == want, f"{tag}: PAIRS_ROUND{r + 1}"
    assert counters["kv_rows"] == int(gold["key_needed"].sum()), f"{tag}: KV_ROWS"
    assert 0 < counters["cycles_spec"] < counters["cycles_total"], tag
    assert 0 < counters["cycles_exec"] < counters["cycles_total"], tag
    return coverage_bins.job_bins(inputs, gold, HW)


def test_top_end_to_end(simulator):
    """Every shape and mode of `cases()` on one build, every output against golden."""
    jobs = cases()
    results = run_rtl_jobs(jobs, CFG, simulator=simulator)
    coverage_bins.require("test_top_end_to_end", [check(inputs, out, counters, f"case {n}")
                                                  for n, ((out, counters), inputs) in enumerate(zip(results, jobs))])


def random_cases(n, seed):
    """n random layers: every length up to the maximum, every head grouping the hardware holds,
    both masks, RoPE, both DDF modes and 1 to 4 rounds."""
    rng = np.random.default_rng(seed)
    groups = [(h, g) for h in range(1, HW.n_heads + 1) for g in range(1, h + 1) if h % g == 0]
    out = []
    for k in range(n):
        H, Hkv = groups[rng.integers(len(groups))]
        R = int(rng.integers(1, 5))
        bits = tuple(int(b) for b in np.diff(np.concatenate([[0], np.sort(rng.choice(np.arange(1, 8), R - 1,
                                                                                  replace=False)), [8]])))
        arith = {"causal": bool(rng.integers(2)), "rope": bool(rng.integers(2)), "pos0": int(rng.integers(0, 100)),
                 "round_bits": bits}
        if rng.integers(2):
            arith.update(ddf_mode="margin", round_eta=(0,) * R,
                         round_margin=tuple(int(v) for v in rng.integers(0, 4000, R)))
        else:
            arith.update(round_eta=tuple(int(v) for v in rng.integers(0, 257, R)), round_margin=(0,) * R)
        out.append(layer(int(rng.integers(1, HW.max_seq_len + 1)), H, Hkv, 100 + k, **arith))
    return out


@pytest.mark.slow
def test_top_random_sweep(simulator):
    """24 random layers on one build (`-m slow`)."""
    jobs = random_cases(24, 7)
    results = run_rtl_jobs(jobs, CFG, simulator=simulator)
    coverage_bins.require("test_top_random_sweep", [check(inputs, out, counters, f"random case {n}")
                                                    for n, ((out, counters), inputs) in enumerate(zip(results, jobs))])


def test_top_backpressure_and_reset(simulator):
    """Random stalls on every AXI channel, and a reset in the middle of a job before two more."""
    jobs = [layer(32, 9, 3, 11, rope=True), layer(10, 4, 2, 12)]
    results = run_rtl_jobs(jobs, CFG, simulator=simulator, pause=0.3, reset_mid=True)
    coverage_bins.require("test_top_backpressure_and_reset",
                          [check(inputs, out, counters, f"job {n}") | {"stall_all"} | ({"reset_mid_job"} if n == 0 else set())
                           for n, ((out, counters), inputs) in enumerate(zip(results, jobs))])


DENSE_CFG = LapaConfig(hw=HW.replace(predictor="dense"))


def dense_cases():
    """SPEC 8 dense jobs (M = C_1, every key needed) for the dense design."""
    return [layer(32, 9, 3, 41, predictor="dense", rope=True),             # maximum length, GQA, RoPE
            layer(1, 1, 1, 42, predictor="dense"),                          # one token
            layer(7, 4, 4, 43, predictor="dense", causal=False, pos0=3, rope=True),  # MHA, not causal
            layer(13, 4, 2, 44, predictor="dense"),
            layer(20, 2, 1, 45, predictor="dense", causal=False)]


def test_top_dense_end_to_end(simulator):
    """The dense predictor in the slot (no prediction hardware) on one build: every output and
    counter of every job against golden's SPEC 8 dense, with random stalls on every AXI channel."""
    jobs = dense_cases()
    results = run_rtl_jobs(jobs, DENSE_CFG, simulator=simulator, pause=0.3)
    bins = []
    for n, ((out, counters), inputs) in enumerate(zip(results, jobs)):
        bins.append(check(inputs, out, counters, f"dense job {n}"))
        assert counters["pairs_round1"] == int(out["mask"].sum()), f"dense job {n}: PAIRS_ROUND1 = nnz(C_1)"
        assert not np.any(out["q_hat"]) and not np.any(out["k_hat"]), f"dense job {n}: hats reported as 0"
    coverage_bins.require("test_top_dense_end_to_end", bins)


SYMLO_CFG = LapaConfig(hw=HW.replace(predictor="symlo"))


def symlo_cases():
    """SPEC 8 symlo jobs (SPEC 3 with x LO-coded) for the symlo design."""
    corner = corner_layer(16, 57)
    return [layer(32, 9, 3, 51, predictor="symlo", rope=True),              # maximum length, GQA, RoPE
            layer(1, 1, 1, 52, predictor="symlo"),                           # one token
            layer(7, 4, 4, 53, predictor="symlo", causal=False, pos0=5, rope=True,
                  ddf_mode="range", round_bits=(2, 3, 3), round_eta=(200, 180, 160),
                  round_margin=(0, 0, 0)),                                  # MHA, not causal, range, 3 rounds
            LayerInputs(corner.x, corner.wq, corner.wk, corner.wv, corner.arith.replace(predictor="symlo"))]


def test_top_symlo_end_to_end():
    """symlo in the slot (the speculation unit with the x-LOE) on one build, the C++ harness's (the
    one symlo build of the default run: the CLI and cycle-model tests reuse it): every output and
    counter of every job against golden's SPEC 8 symlo, with random stalls on every AXI channel."""
    from host.harness import run_harness_jobs

    jobs = symlo_cases()
    results = run_harness_jobs(jobs, SYMLO_CFG, stall=0.3, progress=False)
    bins = [check(inputs, out, counters, f"symlo job {n}") | {"stall_all"}
            for n, ((out, counters), inputs) in enumerate(zip(results, jobs))]
    lapa = run_layer(jobs[0].x, jobs[0].wq, jobs[0].wk, jobs[0].wv, jobs[0].arith.replace(predictor="lapa"))
    assert not np.array_equal(results[0][0]["q_hat"], lapa["q_hat"]), "symlo job 0: q_hat is LAPA's"
    coverage_bins.require("test_top_symlo_end_to_end", bins)


@pytest.mark.parametrize("hw", ["lapa", "symlo"])
def test_top_symlo_refuses_the_other_lo_predictor(hw):
    """lapa and symlo read the same registers and memory image: only PREDICTOR tells them apart,
    and each design refuses the other's job at start (ERROR PREDICTOR; lapa's cocotb build, symlo's
    harness build)."""
    from host.harness import run_harness_jobs

    code = ERROR_CODES["PREDICTOR"]
    with pytest.raises(UserError, match=f"ERROR = {code} \\(PREDICTOR\\)"):
        if hw == "lapa":
            run_rtl_jobs([layer(8, 1, 1, 23, predictor="symlo")], CFG)
        else:
            run_harness_jobs([layer(8, 1, 1, 23, predictor="lapa")], SYMLO_CFG, progress=False)


def test_top_symlo_lint_clean():
    name, text = top_verilog(SYMLO_CFG)
    assert lint_verilog(text, name) == []


SANGER_CFG = LapaConfig(hw=HW.replace(predictor="sanger"))
TOPK_CFG = LapaConfig(hw=HW.replace(predictor="topk"))


# the predictors' own parameters per job of `exact_cases` (thresholds 0 and 65535, topk_k 1 and >= |C_1|)
EXACT_ARGS = {"sanger": (51, {0: {"sg_thresh": 2000}, 1: {"sg_thresh": 65535}, 3: {"sg_thresh": 0}}),
              "topk": (61, {0: {"topk_k": 5}, 1: {"topk_k": 1}, 2: {"topk_k": 7}, 3: {"topk_k": 3}, 4: {"topk_k": 1}})}


def exact_cases(predictor, seed=None, arith=None):
    """SPEC 8 sanger / topk jobs: maximum length with grouped heads, one token, MHA not causal
    with RoPE, and two more shapes (`arith`: the predictor's own parameters per job)."""
    shapes = [(32, 9, 3, {"rope": True}), (1, 1, 1, {}), (7, 4, 4, {"causal": False, "rope": True, "pos0": 3}),
              (13, 4, 2, {}), (20, 2, 1, {"causal": False})]
    if seed is None:
        seed, arith = EXACT_ARGS[predictor]
    return [layer(L, H, Hkv, seed + n, predictor=predictor, **extra, **arith.get(n, {}))
            for n, (L, H, Hkv, extra) in enumerate(shapes)]


def check_exact(jobs, results, tag):
    """`check` for sanger / topk jobs, and PAIRS_ROUND1 = the kept pairs; returns the coverage bins."""
    bins = []
    for n, ((out, counters), inputs) in enumerate(zip(results, jobs)):
        bins.append(check(inputs, out, counters, f"{tag} job {n}"))
        assert counters["pairs_round1"] == int(out["mask"].sum()), f"{tag} job {n}: PAIRS_ROUND1 = nnz(M)"
    return bins


def test_top_sanger_end_to_end(simulator):
    """Sanger in the slot (4-bit scores of the execution unit's exact q / k rows, softmax,
    threshold) on one build: every output (q_hat / k_hat = q4 / k4) and counter of every job
    against golden's SPEC 8 sanger, with random stalls on every AXI channel."""
    jobs = exact_cases("sanger")
    results = run_rtl_jobs(jobs, SANGER_CFG, simulator=simulator, pause=0.3)
    bins = check_exact(jobs, results, "sanger")
    assert any(np.any(out["q_hat"]) for out, _ in results), "sanger reports q4 as q_hat"
    coverage_bins.require("test_top_sanger_end_to_end", bins)


def test_top_topk_end_to_end(simulator):
    """Top-k in the slot (exact scores of C_1 from the execution unit's pre-phase) on one build:
    every output and counter of every job against golden's SPEC 8 topk, with random stalls."""
    jobs = exact_cases("topk")
    results = run_rtl_jobs(jobs, TOPK_CFG, simulator=simulator, pause=0.3)
    bins = check_exact(jobs, results, "topk")
    for n, (out, _) in enumerate(results):
        assert not np.any(out["q_hat"]) and not np.any(out["k_hat"]), f"topk job {n}: hats reported as 0"
    coverage_bins.require("test_top_topk_end_to_end", bins)


@pytest.mark.parametrize("writes,code", [({"SEQ_LEN": 33}, "SEQ_LEN"), ({"HEADS": 9 | (2 << 9)}, "HEADS"),
                                         ({"ROUND_BITS": 2 | (4 << 3) | (3 << 7)}, "ROUND_BITS"),
                                         ({"PREDICTOR": 5}, "PREDICTOR")])
def test_top_error_register(writes, code):
    """Registers the hardware cannot run: the job ends at once with STATUS.error and the code."""
    with pytest.raises(UserError, match=f"ERROR = {ERROR_CODES[code]} \\({code}\\)"):
        run_rtl_jobs([layer(8, 1, 1, 21)], CFG, overrides=writes)


@pytest.mark.parametrize("cfg,predictor", [(CFG, "dense"), (DENSE_CFG, "lapa"), (SANGER_CFG, "topk"), (TOPK_CFG, "sanger")],
                         ids=["lapa_hw", "dense_hw", "sanger_hw", "topk_hw"])
def test_top_refuses_a_job_for_another_predictor(cfg, predictor):
    """A vector file of another SPEC 8 predictor than the one generated: the host programs its
    PREDICTOR register and the hardware refuses the job at start (ERROR PREDICTOR)."""
    code = ERROR_CODES["PREDICTOR"]
    with pytest.raises(UserError, match=f"ERROR = {code} \\(PREDICTOR\\)"):
        run_rtl_jobs([layer(8, 1, 1, 22, predictor=predictor)], cfg)


def test_top_topk_k_zero_refused():
    """TOPK_K = 0 on the topk design: refused at start with ERROR TOPK_K (its own code)."""
    code = ERROR_CODES["TOPK_K"]
    with pytest.raises(UserError, match=f"ERROR = {code} \\(TOPK_K\\)"):
        run_rtl_jobs([layer(8, 1, 1, 23, predictor="topk")], TOPK_CFG, overrides={"TOPK_K": 0})


@pytest.mark.parametrize("cfg", [CFG, DENSE_CFG, SANGER_CFG, TOPK_CFG], ids=["lapa", "dense", "sanger", "topk"])
def test_top_lint_clean(cfg):
    name, text = top_verilog(cfg)
    assert lint_verilog(text, name) == []


def test_layer_refused_before_simulation():
    inputs = layer(32, 9, 3, 1)
    with pytest.raises(UserError, match="max_seq_len = 16"):
        check_fits(inputs.shape, HW.replace(max_seq_len=16))
    with pytest.raises(UserError, match="head_dim = 32"):
        check_fits(inputs.shape, HW.replace(head_dim=32))
    with pytest.raises(UserError, match="n_heads = 4"):
        check_fits(inputs.shape, HW.replace(n_heads=4, n_kv_heads=2))
    assert hw_for_layer((100, 576, 64, 9, 3)).max_seq_len == 128


def _hw_options(hw):
    return [a for f in ("d_model", "head_dim", "max_seq_len", "n_heads", "n_kv_heads", "pea_lanes",
                        "peb_lanes", "mac_rows", "mac_cols", "av_lanes")
            for a in (f"--{f.replace('_', '-')}", str(getattr(hw, f)))]


def test_cli_rtl_backend_matches_golden(tmp_path, capsys):
    """`build.py run` with --backend golden and --backend rtl on one file: identical outputs."""
    from lapa.cli import main

    vec = tmp_path / "in.npz"
    assert main(["example", str(vec), "--seq-len", "12", "--d-model", "32", "--head-dim", "16",
                 "--n-heads", "9", "--n-kv-heads", "3", "--rope", "1", "--seed", "3"]) == 0
    assert main(["run", "--backend", "golden", str(vec), str(tmp_path / "g.npz")]) == 0
    assert main(["run", "--backend", "rtl", str(vec), str(tmp_path / "r.npz"), *_hw_options(HW)]) == 0
    assert "rtl backend" in capsys.readouterr().out
    with np.load(tmp_path / "g.npz") as g, np.load(tmp_path / "r.npz") as r:
        for name in OUTPUTS + ("exec_macs", "dense_macs"):
            assert r[name].dtype == g[name].dtype and np.array_equal(r[name], g[name]), name
        assert int(r["cycles"]) > 0 and int(r["kv_rows"]) == int(g["key_needed"].sum())
    # a layer longer than the hardware's buffers: refused before any simulation, no output
    out = tmp_path / "never.npz"
    assert main(["run", "--backend", "rtl", str(vec), str(out), "--max-seq-len", "8"]) == 2
    assert "--max-seq-len 8: the layer has L = 12 tokens" in capsys.readouterr().err
    assert not out.exists()


def _cli_file_through_rtl(tmp_path, capsys, predictor, seed):
    """A SPEC 8 `predictor` file (L 12, GQA 9/3, RoPE) through `build.py run --backend rtl`: the
    file's predictor is generated (C++ harness) and every output and work figure equals golden's;
    `--predictor lapa` on it generates LAPA, whose hardware refuses the job by name (exit 2, no
    output). Returns (golden, rtl) outputs."""
    from lapa.cli import main

    vec = tmp_path / f"{predictor}.npz"
    assert main(["example", str(vec), "--seq-len", "12", "--d-model", "32", "--head-dim", "16", "--n-heads", "9",
                 "--n-kv-heads", "3", "--rope", "1", "--seed", str(seed), "--predictor", predictor]) == 0
    assert main(["run", "--backend", "golden", str(vec), str(tmp_path / "g.npz")]) == 0
    assert main(["run", "--backend", "rtl", str(vec), str(tmp_path / "r.npz"), *_hw_options(HW)]) == 0
    with np.load(tmp_path / "g.npz") as g, np.load(tmp_path / "r.npz") as r:
        gold, rtl = dict(g), dict(r)
    for name in OUTPUTS + ("exec_macs", "dense_macs", "pred_shift_adds"):
        assert rtl[name].dtype == gold[name].dtype and np.array_equal(rtl[name], gold[name]), name
    capsys.readouterr()
    out = tmp_path / "never.npz"
    assert main(["run", "--backend", "rtl", str(vec), str(out), *_hw_options(HW), "--predictor", "lapa"]) == 2
    assert f"ERROR = {ERROR_CODES['PREDICTOR']} (PREDICTOR)" in capsys.readouterr().err
    assert not out.exists()
    return gold, rtl


def test_cli_rtl_backend_dense_matches_golden(tmp_path, capsys):
    """The dense design from a SPEC 8 dense file (`_cli_file_through_rtl`): C_1 kept, every key."""
    g, r = _cli_file_through_rtl(tmp_path, capsys, "dense", 5)
    assert int(r["pairs_round1"]) == int(g["mask"].sum()) and int(r["kv_rows"]) == 3 * 12


def test_cli_rtl_backend_symlo_matches_golden(tmp_path, capsys):
    """The symlo design from a SPEC 8 symlo file (`_cli_file_through_rtl`): K/V rows = key_needed."""
    g, r = _cli_file_through_rtl(tmp_path, capsys, "symlo", 6)
    assert int(r["kv_rows"]) == int(g["key_needed"].sum()) and int(r["cycles"]) > 0


@pytest.mark.slow
def test_rtl_backend_writes_waves(tmp_path):
    """`--waves FILE.fst`: a Verilator build with tracing writes the waveform file (`-m slow`)."""
    from host.rtl import run_rtl_layer

    waves = tmp_path / "job.fst"
    out = run_rtl_layer(layer(6, 1, 1, 31), hw=HW, given=tuple(f for f in HW.__dataclass_fields__), waves=str(waves))
    assert waves.stat().st_size > 1000 and int(out["cycles"]) > 0


@pytest.mark.parametrize("predictor,extra", [("sanger", ["--sg-prob", "0.05"]), ("topk", ["--topk-k", "4"])])
def test_cli_rtl_backend_exact_matches_golden(tmp_path, predictor, extra):
    """`build.py run --backend rtl` on a SPEC 8 sanger / topk file generates that design and gives
    golden's outputs bit for bit (`--engine cocotb`: the build of test_top_{sanger,topk}_end_to_end,
    here without AXI stalls; the C++ harness runs these designs in tests/test_perf.py, `-m slow`)."""
    from lapa.cli import main

    vec = tmp_path / f"{predictor}.npz"
    assert main(["example", str(vec), "--seq-len", "12", "--d-model", "32", "--head-dim", "16",
                 "--n-heads", "9", "--n-kv-heads", "3", "--rope", "1", "--seed", "7", "--predictor", predictor,
                 *extra]) == 0
    assert main(["run", "--backend", "golden", str(vec), str(tmp_path / "g.npz")]) == 0
    assert main(["run", "--backend", "rtl", str(vec), str(tmp_path / "r.npz"), *_hw_options(HW),
                 "--engine", "cocotb"]) == 0
    with np.load(tmp_path / "g.npz") as g, np.load(tmp_path / "r.npz") as r:
        for name in OUTPUTS + ("exec_macs", "dense_macs"):
            assert r[name].dtype == g[name].dtype and np.array_equal(r[name], g[name]), name
        assert int(r["pairs_round1"]) == int(g["mask"].sum()) and int(r["kv_rows"]) == int(g["key_needed"].sum())
        assert 0 < int(r["mask"].sum()) < 9 * 12 * 13 // 2, "a mask that keeps some pairs, not all"
