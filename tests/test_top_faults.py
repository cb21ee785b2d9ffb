# amaranth: UnusedElaboratable=no
"""Bus faults through the generated top level (cocotbext-axi RAM with injected faults, one build,
the one `tests/test_top.py` uses): SLVERR / DECERR on reads and writes at random points, a read
or write that never answers (the watchdog), a read address never taken, a restart during a
drain, reset in the middle of a read and of a write burst. Each ends with its ERROR code and
irq (or a clean reset), and the job run after each is bit-exact with golden."""

import json
import os

import numpy as np
import pytest

from rtl.generate import top_verilog
from sim.layer import prepare_jobs, read_result
from sim.runner import run_cocotb

from . import coverage_bins
from .test_top import CFG, check, layer

# coverage bins of each scenario kind (tests/coverage_bins.py)
FAULT_BINS = {"rresp": "fault_read_{}", "bresp": "fault_write_{}", "rresp_hold": "fault_restart_in_drain",
              "r_hold": "fault_read_timeout", "ar_block": "fault_read_addr_timeout", "b_hold": "fault_write_timeout",
              "reset_r": "reset_mid_read_burst", "reset_w": "reset_mid_write_burst"}


def scenarios(seed):
    rng = np.random.default_rng(seed)
    frac = lambda: round(float(rng.random()), 3)
    out = [{"kind": "rresp", "resp": resp, "frac": frac()} for resp in ("SLVERR", "SLVERR", "DECERR", "DECERR")]
    out += [{"kind": "bresp", "resp": resp, "frac": frac()} for resp in ("SLVERR", "SLVERR", "DECERR")]
    out += [{"kind": "rresp_hold", "resp": "SLVERR", "frac": frac(), "watchdog": 4000},
            {"kind": "r_hold", "frac": frac(), "watchdog": 300},
            {"kind": "r_hold", "frac": frac(), "watchdog": 1000, "recover": "reset"},
            {"kind": "ar_block", "frac": frac(), "watchdog": 500, "recover": "reset"},
            {"kind": "b_hold", "frac": frac(), "watchdog": 400},
            {"kind": "reset_r", "frac": frac()}, {"kind": "reset_w", "frac": frac()}]
    for sc in out:
        sc.setdefault("watchdog", 1 << 20)
        sc.setdefault("resp", "SLVERR")
    return out


def random_scenarios(n, seed):
    """n scenarios of random kinds, positions, responses, watchdog limits and recoveries."""
    rng = np.random.default_rng(seed)
    kinds = list(FAULT_BINS)
    out = []
    for _ in range(n):
        kind = kinds[rng.integers(len(kinds))]
        sc = {"kind": kind, "frac": round(float(rng.random()), 3), "resp": ("SLVERR", "DECERR")[rng.integers(2)]}
        if kind in ("r_hold", "ar_block", "b_hold", "rresp_hold"):
            # rresp_hold: the restart's register writes happen within the drain, so a longer limit
            sc["watchdog"] = int(rng.integers(2000, 8000) if kind == "rresp_hold" else rng.integers(100, 3000))
            sc["recover"] = ("late", "reset")[rng.integers(2)] if kind != "ar_block" else "reset"
        out.append(sc)
    for sc in out:
        sc.setdefault("watchdog", 1 << 20)
    return out


def run_faults(simulator, tmp_path, plan, owner):
    """The scenarios of `plan` on one build, each checked by the testbench; every clean job after
    them against golden; the coverage bins recorded for `owner`."""
    inputs = layer(8, 2, 1, 41, rope=True)
    [job], [lay] = prepare_jobs([inputs], CFG, tmp_path)
    report = tmp_path / "faults.json"
    name, verilog = top_verilog(CFG)
    run_cocotb(verilog, name, "sim.top_faults", simulator=simulator, config=CFG,
               env={"LAPA_FAULTS": json.dumps({"job": job, "scenarios": plan, "report": str(report)})})
    outcomes = json.loads(report.read_text())
    assert len(outcomes) == len(plan) + 1
    jobs = []
    for sc, res in zip([{"kind": "clean"}] + plan, outcomes):
        assert res["kind"] == sc["kind"]
        out, counters = read_result(res["result"], inputs, lay)
        bins = check(inputs, out, counters, f"clean job after {sc['kind']}") | {f"stall_{res['stalls']}"}
        if sc["kind"] in FAULT_BINS:
            bins.add(FAULT_BINS[sc["kind"]].format(sc["resp"].lower()))
        if sc["kind"] in ("r_hold", "ar_block", "b_hold"):
            bins.add("fault_bus_pending")
        jobs.append(bins)
        print(f"{res['kind']:>10}: {res.get('outcome', 'clean')} (next job bit-exact under {res['stalls']} "
              f"stalls, {res['clean_cycles']} cycles)")
    coverage_bins.require(owner, jobs)


def test_top_bus_faults(simulator, tmp_path):
    """Every fault kind once or more, at seeded random positions."""
    seed = int(os.environ.get("LAPA_SEED", 19))
    print(f"fault positions seed {seed} (LAPA_SEED=N replays)")
    run_faults(simulator, tmp_path, scenarios(seed), "test_top_bus_faults")


@pytest.mark.slow
def test_top_bus_faults_sweep(simulator, tmp_path):
    """48 random scenarios (`-m slow`)."""
    seed = int(os.environ.get("LAPA_SEED", 1919))
    print(f"fault sweep seed {seed} (LAPA_SEED=N replays)")
    run_faults(simulator, tmp_path, random_scenarios(48, seed), "test_top_bus_faults_sweep")
