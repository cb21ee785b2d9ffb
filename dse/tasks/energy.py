"""`energy`: the per-layer energy model (`energy.layer.layer_energy`) at a point.

- Energy per action: the measured table (`energy.table`) of the point's own hardware
  configuration when one is cached in build/energy/, else the committed table of the small
  configuration (tests/data/energy_table_small.json); chosen when the sweep is planned (`prepare`)
  and named, with its sha256, in the job's parameters, so a new table gives new jobs.
- Actions and cycles: the point's `cycles` result (the RTL's outputs and CYCLES_TOTAL /
  PAIRS_ROUND counters) when the sweep has one for the point; otherwise the golden model's
  outputs of the same example layer and the perf cycle model's cycles (as `build.py compare`),
  labelled so. (Before, the ideal cycles x `energy.layer.CYCLE_RATIO`: a ratio measured on lapa
  that put dense at L = 1024 5.4x below the model.)
- SRAM: CACTI at the point's own buffer shapes (`energy.srams`, from the elaborated design).
- Idle and leakage per cycle: scaled by the point's logic area per unit when the sweep has its
  `synth` result, else the table's (unscaled; the record says which).
lapa is the generated accelerator; dense is its execution unit with every pair kept and no
speculation unit (as in `build.py compare`); the other predictors have no hardware yet.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os

from lapa.config import HardwareConfig

from ..codeversion import ROOT
from ..params import HW_KEYS

__all__ = ["run", "prepare", "applies", "SMALL_TABLE"]

SMALL_TABLE = os.path.join("tests", "data", "energy_table_small.json")
BUILT = ("lapa", "dense")


def applies(params):
    if params["predictor"] not in BUILT:
        return f"predictor {params['predictor']}: its hardware does not exist yet (issue 14), no energy"
    if params["seq_len"] > params["max_seq_len"]:
        return f"seq_len {params['seq_len']} > max_seq_len {params['max_seq_len']}"
    return None


def _hw(params):
    return HardwareConfig(**{k: params[k] for k in HW_KEYS})


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _cached_table(hw):
    """The path of a table in build/energy/ measured on exactly `hw` (newest first), or None."""
    from energy.gatesim import CACHE

    want = dataclasses.asdict(hw)
    for path in sorted(glob.glob(os.path.join(CACHE, "table-*.json")), key=os.path.getmtime, reverse=True):
        try:
            with open(path) as f:
                t = json.load(f)
        except (OSError, ValueError):
            continue
        got = t.get("config", {}).get("hw")   # a table from before HardwareConfig.predictor: lapa
        if t.get("schema") == "lapa-energy/1" and isinstance(got, dict) and {"predictor": "lapa", **got} == want:
            return path
    return None


def prepare(params):
    """Planning-time parameters: which energy table the job uses (path relative to the checkout
    when inside it, and its sha256); dense has no DDF, so its points share one job whatever the
    setting (the default setting's fields calibrate its example layer)."""
    from . import dense_setting

    path = _cached_table(_hw(params)) or os.path.join(ROOT, SMALL_TABLE)
    rel = os.path.relpath(path, ROOT)
    return {**dense_setting(params), "energy_table": {"path": path if rel.startswith("..") else rel, "sha256": _sha(path),
                             "kind": "measured on the point's configuration" if path != os.path.join(ROOT, SMALL_TABLE)
                             else "the committed small-configuration table"}}


def _table(ref):
    from energy.table import load_table

    path = ref["path"] if os.path.isabs(ref["path"]) else os.path.join(ROOT, ref["path"])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"energy table {ref['path']} is not on this worker")
    if _sha(path) != ref["sha256"]:
        raise ValueError(f"energy table {ref['path']} on this worker differs from the sweep's "
                         f"(sha256 {ref['sha256'][:12]}...)")
    return load_table(path)


def _dep(deps, name):
    """The result of the point's `name` job, or None when the sweep has none for the point."""
    rec = (deps or {}).get(name)
    if rec is None:
        return None
    if rec.get("status") != "ok":
        raise RuntimeError(f"the point's {name} job failed: {rec.get('error')}")
    return rec["result"]


def _work_from_cycles(c, params):
    """energy.layer work figures from the cycles task's result: the RTL's mask and key_needed,
    and its scored pairs (every round-1 candidate + the PAIRS_ROUND counters of the later rounds,
    `host.job.accounting`)."""
    if not c["bit_exact"]:
        raise ValueError("the point's RTL run is not bit-exact with the golden model")
    s = c["shape"]
    return {"L": s["L"], "D": s["D"], "dh": s["dh"], "H": s["H"], "Hkv": s["Hkv"],
            "rope": int(params["rope"]), "scored_pairs": sum(c["candidates"]), "nnz": c["mask_nnz"],
            "key_needed": c["key_needed"]}


def _golden_work(params, cycles=False):
    """energy.layer work figures from the golden model's outputs of the point's example layer;
    with `cycles`, also the layer's cycles and their source from the perf cycle model."""
    from energy.layer import layer_work, model_cycles
    from lapa.backends import run_backend

    from .layer import example_inputs

    inputs = example_inputs(params)
    gold = run_backend("golden", inputs)
    w = layer_work(inputs, gold, params["predictor"])
    return (w, *model_cycles(inputs, gold, _hw(params))) if cycles else w


def run(params, deps=None):
    from energy.compare import _area_scale
    from energy.layer import layer_energy
    from energy.srams import target_srams

    hw = _hw(params)
    table = _table(params["energy_table"])
    speculation = params["predictor"] == "lapa"
    cyc = _dep(deps, "cycles")
    synth = _dep(deps, "synth")
    source = None
    if cyc is not None and cyc.get("backend") == "model":   # cycles task with backend = "model"
        from perf import MODEL_ERROR

        w, cycles, actions = _golden_work(params), cyc["cycles"], "golden model outputs (SPEC 7 accounting)"
        source = f"perf cycle model of the cycles task ({MODEL_ERROR})"
    elif cyc is not None:
        w, cycles, actions = _work_from_cycles(cyc, params), cyc["cycles"], "RTL outputs and counters (cycles task)"
    else:   # no cycles job at the point (none in the sweep, or out of its reach: dense on the RTL backend)
        w, cycles, source = _golden_work(params, cycles=True)
        actions = "golden model outputs (SPEC 7 accounting)"
    scale = _area_scale(table, synth) if synth is not None else None
    srams, notes = target_srams(table, hw, params["sram_min_bits"])
    e = layer_energy(table, w, hw, scale, srams, speculation=speculation, cycles=cycles, cycles_source=source)
    period_s = table["clock_ns"] * 1e-9
    return {"energy_pj": e["total_pj"], "split_pj": e["split_pj"], "active_split_pj": e["active_split_pj"],
            "sram_pj": e["sram_pj"], "offchip_pj": e["offchip_pj"], "offchip_bytes": e["offchip_bytes"],
            "offchip_source": e["offchip_source"], "cycles": e["cycles"], "cycles_measured": e["cycles_measured"],
            "cycles_source": e["cycles_source"], "edp_pj_s": e["total_pj"] * e["cycles"] * period_s,
            "actions_source": actions, "work": w, "design": "lapa" if speculation else
            "dense (execution unit, every pair kept, no speculation unit)",
            "area_scaled": e["area_scaled"], "area_scale": scale,
            "static_source": "idle / leakage scaled by the point's logic area (synth task)" if scale
            else "idle / leakage of the table's configuration, unscaled (no synth result for the point)",
            "sram": notes, "parts_pj": e["parts_pj"],
            "table": {**params["energy_table"], "key": table.get("key"), "stimulus": table.get("stimulus"),
                      "hw": table["config"]["hw"], "clock_ns": table["clock_ns"], "method": table.get("method")}}
