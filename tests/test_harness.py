# amaranth: UnusedElaboratable=no
"""The C++ Verilator harness (`host.harness`, `sim/harness/`) against the cocotb path and golden.

One harness build of test_top's configuration runs every job here; the cocotb build is the one
test_top uses. Every output and every work counter (PAIRS_ROUND*, KV_ROWS) of the harness equals
the cocotb path's, and every output equals golden; the cycle counters differ, since the two
memory models answer with different latencies (cocotbext-axi's queues add a cycle to every R and
B response). Under random stalls on all five AXI channels the outputs and the work counters stay
the same, only the cycle counts grow, and a seed replays the same cycles."""

import numpy as np
import pytest

from host import harness
from host.harness import HarnessFailed, run_harness_jobs
from host.job import COUNTERS
from lapa.cli import main
from lapa.errors import UserError
from rtl.soc.regmap import ERROR_CODES
from sim.layer import run_rtl_jobs
from tests.test_top import CFG, HW, OUTPUTS, _hw_options, check, corner_layer, layer

TIMING = ("cycles_total", "cycles_spec", "cycles_exec", "cycles_stall")


def jobs():
    return [
        layer(1, 1, 1, 2),                                           # one token
        layer(32, 9, 3, 1),                                          # maximum length, GQA 9/3
        layer(7, 4, 4, 3, causal=False, rope=True, pos0=5),          # MHA, not causal, RoPE
        layer(20, 9, 3, 4, ddf_mode="margin", round_bits=(2, 3, 3), round_eta=(0, 0, 0),
              round_margin=(3000, 2000, 1000), rope=True),           # margin mode, three rounds
        corner_layer(16, 7),                                         # zeros, -128, saturation
    ]


@pytest.fixture(scope="module")
def runs():
    """The jobs on the harness (no stalls, and stalls on every channel) and on cocotb."""
    js = jobs()
    return {"jobs": js, "harness": run_harness_jobs(js, CFG, progress=False),
            "stalled": run_harness_jobs(js, CFG, stall=0.3, seed=5, progress=False),
            "replay": run_harness_jobs(js[:2], CFG, stall=0.3, seed=5, progress=False),
            "cocotb": run_rtl_jobs(js, CFG, progress=False)}


def test_harness_matches_golden(runs):
    for n, ((out, counters), inputs) in enumerate(zip(runs["harness"], runs["jobs"])):
        check(inputs, out, counters, f"job {n}")


def test_harness_matches_cocotb(runs):
    """Every output and every work counter; the cycle counts of both are printed."""
    for n, ((out, counters), (ref, ref_counters)) in enumerate(zip(runs["harness"], runs["cocotb"])):
        for name in OUTPUTS:
            assert np.array_equal(out[name], ref[name]), f"job {n}: {name}"
        for name in set(COUNTERS) - set(TIMING):
            assert counters[name] == ref_counters[name], f"job {n}: {name} {counters[name]} != {ref_counters[name]}"
        print(f"job {n}: cycles_total harness {counters['cycles_total']}, cocotb {ref_counters['cycles_total']}")


def test_harness_stalls(runs):
    """Random stalls on AR, R, AW, W and B: the same bits and work counters, more cycles."""
    for n, ((out, counters), inputs, (_, calm)) in enumerate(zip(runs["stalled"], runs["jobs"], runs["harness"])):
        check(inputs, out, counters, f"stalled job {n}")
        for name in set(COUNTERS) - set(TIMING):
            assert counters[name] == calm[name], f"job {n}: {name}"
        assert counters["cycles_total"] > calm["cycles_total"], f"job {n}: stalls cost no cycles"
    for (out, counters), (again, again_counters) in zip(runs["stalled"], runs["replay"]):
        assert counters == again_counters and all(np.array_equal(out[k], again[k]) for k in OUTPUTS)


def test_harness_error_register():
    """A job the registers do not allow: STATUS.error and the code, as on the cocotb path."""
    with pytest.raises(UserError, match=f"ERROR = {ERROR_CODES['SEQ_LEN']} \\(SEQ_LEN\\)"):
        run_harness_jobs([layer(8, 1, 1, 21)], CFG, overrides={"SEQ_LEN": 33}, progress=False)


def test_harness_reports_a_hang(monkeypatch):
    """No irq within the cycle bound: the harness stops and says so."""
    monkeypatch.setattr(harness, "cycle_bound", lambda shape, hw: 100)
    with pytest.raises(HarnessFailed, match="no irq after"):
        run_harness_jobs([layer(8, 1, 1, 21)], CFG, progress=False)


def test_harness_is_the_default_engine(tmp_path, capsys):
    """`build.py run --backend rtl` runs the harness (announced), `--engine cocotb` the cocotb path
    with the same outputs; Icarus needs --engine cocotb."""
    vec = tmp_path / "in.npz"
    assert main(["example", str(vec), "--seq-len", "5", "--d-model", "32", "--head-dim", "16",
                 "--heads", "3", "--kv-heads", "1", "--seed", "9"]) == 0
    hw = _hw_options(HW)
    capsys.readouterr()
    assert main(["run", "--backend", "rtl", str(vec), str(tmp_path / "r.npz"), *hw]) == 0
    assert "RTL backend (harness)" in capsys.readouterr().err
    assert main(["run", "--backend", "rtl", "--engine", "cocotb", str(vec), str(tmp_path / "c.npz"), *hw]) == 0
    assert "RTL backend (cocotb)" in capsys.readouterr().err
    with np.load(tmp_path / "r.npz") as r, np.load(tmp_path / "c.npz") as c:
        for name in OUTPUTS + ("kv_rows", "pairs_round2", "exec_macs"):
            assert np.array_equal(r[name], c[name]), name
    out = tmp_path / "never.npz"
    assert main(["run", "--backend", "rtl", "--simulator", "icarus", str(vec), str(out), *hw]) == 2
    assert "--simulator icarus needs --engine cocotb" in capsys.readouterr().err and not out.exists()


@pytest.mark.slow
def test_harness_waves(tmp_path, monkeypatch):
    """`waves`: a --trace-fst build writes an FST in which irq rises once, right after the job's
    CYCLES_TOTAL cycles (plus reset and the register writes) (`-m slow`)."""
    import pywellen

    fst = tmp_path / "job.fst"
    inputs = layer(3, 1, 1, 8)
    [(out, counters)] = run_harness_jobs([inputs], CFG, waves=str(fst), progress=False)
    check(inputs, out, counters, "traced job")
    [irq] = [v.signal for v in pywellen.Waveform(str(fst)).all_vars() if v.full_name == "lapa.irq"]
    lo, hi = 0, 10 * (counters["cycles_total"] + 10_000)      # 10 time units a cycle
    assert int(irq.value_at(lo)) == 0 and int(irq.value_at(hi)) == 1
    while hi - lo > 1:                                          # irq's rising edge
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if int(irq.value_at(mid)) else (mid, hi)
    assert 0 <= hi // 10 - counters["cycles_total"] < 1000, (hi, counters["cycles_total"])
    # a hang with waves: the FST up to the cycle bound is kept and named
    monkeypatch.setattr(harness, "cycle_bound", lambda shape, hw: 100)
    hang = tmp_path / "hang.fst"
    with pytest.raises(HarnessFailed, match="no irq after.*waves up to there"):
        run_harness_jobs([inputs], CFG, waves=str(hang), progress=False)
    [irq] = [v.signal for v in pywellen.Waveform(str(hang)).all_vars() if v.full_name == "lapa.irq"]
    assert int(irq.value_at(10 ** 9)) == 0
