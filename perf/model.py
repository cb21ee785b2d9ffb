"""`predict`: the record of one job from the cycle model (`perf.schedule`) and the action counts
(`perf.counts`), with the PE-bound ideal of each unit beside the cycles."""

from __future__ import annotations

import time

from lapa.fields import MAX_ROUNDS

from .counts import action_counts
from .schedule import simulate

__all__ = ["MODEL_SOURCE", "MODEL_ERROR", "predict"]

MODEL_SOURCE = ("perf cycle model (discrete-event model of the RTL's state machines, production job "
                "CTRL.trace = 0, harness memory without stalls; validated against the C++ harness in "
                "tests/test_perf.py)")
# measured by tests/test_perf.py against the C++ harness (worst |error| over every job there)
MODEL_ERROR = ("within 0.88 % of the RTL's CYCLES_TOTAL on the 15 default jobs of tests/test_perf.py "
               "since the speculation unit's balance change: 7 of the small configuration (worst +0.88 %), "
               "8 of the sweep shape at L = 128 / 256 (PEA 8 / 16 x PEB 16 / 32, 6 + 2 bit rounds, margin "
               "8 / 5: <= +0.13 %); before it (not re-run since): 5 of a second configuration (-0.20 %), 12 "
               "at L = 1024 (<= +0.02 %), the default configuration at L = 256 -0.44 %; sanger / "
               "topk: -0.21 .. +0.95 % on 10 jobs of tests/test_perf.py, -0.59 % / -0.53 % at L = 256 in the "
               "SmolLM2 shape")


def ideal(profile, hw, counts):
    """Cycles of each unit with every PE busy: the speculation unit (PEA and PEB side by side: the larger, `host.job.ideal_cycles`;
    sanger's score array, topk's engine),
    the execution unit's MAC array (projections and scores) and its A.V array (beside it)."""
    L, D, dh, H, Hkv = profile.shape
    spec = max(counts["pea_shift_adds"] / hw.pea_lanes, sum(counts["peb_pairs_per_round"]) * dh / hw.peb_lanes)
    # sanger's 4-bit score array (peb_lanes multipliers); topk's engine (a score or a row read a cycle)
    spec += counts.get("sanger_macs4", 0) / hw.peb_lanes + counts.get("topk_scores", 0) + counts.get("topk_row_reads", 0)
    execm = counts["macs"] / (hw.mac_rows * hw.mac_cols)
    av = counts["av_macs"] / hw.av_lanes
    return {"speculation": spec, "execution MAC array": execm, "execution A.V array": av}


def predict(profile, hw) -> dict:
    """Cycles (`cycles` = CYCLES_TOTAL), the other cycle counters, the action counts and the
    ideal cycles of the bottleneck unit for one job of `profile` on hardware `hw`."""
    t0, c0 = time.perf_counter(), time.process_time()
    if profile.predictor == "topk":   # the engine's radix passes (rtl.predictors.topk: 4-bit digits)
        profile = profile._replace(passes=-(-hw.score_width // 4))
    sim = simulate(profile, hw)
    counts = action_counts(profile, hw)
    units = ideal(profile, hw, counts)
    bottleneck = max(units, key=units.get)
    spec, execm = units["speculation"], units["execution MAC array"]
    cycles = int(sim["cycles_total"])
    rec = {
        "cycles": cycles,
        "cycles_total": cycles, "cycles_spec": int(sim["cycles_spec"]), "cycles_exec": int(sim["cycles_exec"]),
        "cycles_stall": int(sim["cycles_stall"]),
        **{f"pairs_round{r + 1}": int(counts.get(f"pairs_round{r + 1}", 0)) for r in range(MAX_ROUNDS)},
        "kv_rows": counts["kv_rows"],
        "ideal_spec": round(spec), "ideal_exec": round(execm), "ideal_av": round(units["execution A.V array"]),
        "ideal_pea": round(counts["pea_shift_adds"] / hw.pea_lanes),
        "ideal_peb": round(sum(counts["peb_pairs_per_round"]) * profile.shape[2] / hw.peb_lanes),
        "bottleneck": bottleneck, "cycles_over_ideal": cycles / max(units[bottleneck], 1),
        "actions": {k: v for k, v in counts.items() if not k.startswith("pairs_round")},
        "shape": dict(zip(("L", "D", "dh", "H", "Hkv"), profile.shape)),
        "predictor": profile.predictor,
        "source": MODEL_SOURCE,
    }
    rec["model_seconds"] = round(time.perf_counter() - t0, 3)
    rec["model_cpu_seconds"] = round(time.process_time() - c0, 3)
    return rec
