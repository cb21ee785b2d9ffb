"""Energy of one layer: sum of actions x energy per action + SRAM accesses x CACTI energy +
(idle + leakage) x cycles, split into speculation, execution, memory and control.

The per-action energies come from a measured table (`energy.table`) of a small configuration.
For another shape they are used per elementary operation, which is what the small and the
target block share: the PEA per shift-add (a beat is `pea_lanes` of them), PEB per pair and
dh element, RoPE per element, the MAC and A.V arrays per MAC, requant, softmax and LOE per
element, DDF per pair, KV control per row, the data movers per 64-bit beat. Wider accumulators
and indices at the larger shape make these lower bounds. Idle and leakage energy per cycle
scale with the size of the part they were measured on: the target's flip-flop area over the
measured one per part (speculation, execution, result writer, register bank; the clock and
flip-flops make up the idle energy of a design without clock gating), from a synthesis report
of the target configuration when given (`energy.compare._area_scale`), else unscaled, which
the record says; so does a block's energy per job cycle (`busy_pj_per_cycle`, in tables
calibrated on two jobs). SRAM energy per access comes
from CACTI at the target's own buffer shapes (from that report), with accesses scaled from the
measured job by the unit's work. Off-chip traffic is priced per byte with a stated source.
Actions come from the golden model's outputs of the layer (SPEC 7 accounting: exact for the
RTL, see `energy.blocks`); cycles from the cycle model (`perf`, validated against the RTL; the
caller passes them) or, without them, the ideal PE-bound cycle count times the measured
cycles / ideal ratio of `build.py bench rtl` at L = 1024 (1.21, README), labelled an estimate.
"""

from __future__ import annotations

import numpy as np

from . import blocks as B

__all__ = ["layer_work", "layer_energy", "model_cycles", "DRAM_PJ_PER_BYTE", "DRAM_SOURCE", "CYCLE_RATIO",
           "GATING_SOURCE"]

# Off-chip traffic is priced apart from the on-chip energy (the paper's comparison is on-chip).
DRAM_PJ_PER_BYTE = 160.0
DRAM_SOURCE = ("160 pJ/byte: M. Horowitz, 'Computing's energy problem', ISSCC 2014 (a 64-bit "
               "DRAM access 1.3-2.6 nJ; the lower end, 1.3 nJ / 8 bytes)")
CYCLE_RATIO = 1.21   # measured cycles / ideal at L = 1024 (README, build.py bench rtl)
GATING_SOURCE = ("estimate, not measured: the design has no clock gating; each block's idle "
                 "energy x the fraction of its flip-flop idle energy in cycles where the "
                 "flip-flop's output did not change (gate-level activity of the small "
                 "calibration jobs), removed: ideal per-flip-flop gating, gate cells and clock "
                 "tree not modelled, so an upper bound on the saving")


def layer_work(inputs, gold, predictor="lapa"):
    """Work figures (`energy.blocks.job_counts` keys) of a layer from its golden outputs."""
    L, D, dh, H, Hkv = inputs.shape
    mask = np.asarray(gold["mask"])
    nnz = int(mask.sum())
    kn = int(np.asarray(gold["key_needed"]).sum())
    scored = int(np.asarray(gold["round_candidates"]).sum()) if predictor in ("lapa", "symlo") else 0
    return {"L": L, "D": D, "dh": dh, "H": H, "Hkv": Hkv, "rope": int(inputs.arith.rope),
            "scored_pairs": scored, "nnz": nnz, "key_needed": kn}


def ideal_cycles(w, hw, speculation=True):
    spec = ((w["H"] + w["Hkv"]) * w["L"] * w["D"] * w["dh"] / hw.pea_lanes
            + w["scored_pairs"] * w["dh"] / hw.peb_lanes) if speculation else 0.0
    execm = (w["H"] * w["L"] * w["D"] * w["dh"] + 2 * w["key_needed"] * w["D"] * w["dh"]
             + w["nnz"] * w["dh"]) / (hw.mac_rows * hw.mac_cols)
    return max(spec, execm)


def _traffic(w):
    """(bytes read, bytes written) of a production job (no trace): every input buffer of the
    memory layout read once (x, weights, their LO codes, the RoPE table: a lower bound, the
    units may read x more than once), mask, key_needed and o written once."""
    from lapa.memlayout import MemoryLayout

    lay = MemoryLayout(w["L"], w["D"], w["dh"], w["H"], w["Hkv"])
    read = sum(lay[n].size for n in MemoryLayout.INPUTS)
    write = sum(lay[n].size for n in ("mask", "key_needed", "o"))
    return read, write


def _elementary(table):
    """{block: (pJ per elementary op, what the op is)} from a measured table."""
    hw = table["config"]["hw"]
    out = {}
    for g, e in table["blocks"].items():
        if "pj_per_action" not in e or e["pj_per_action"] is None:
            continue
        pj = e["pj_per_action"]
        if g == "spec/pea":
            out[g] = (pj / hw["pea_lanes"], "shift-add")
        elif g in ("spec/rope", "exec/rope"):
            out[g] = (pj / hw["head_dim"], "element rotated")
        elif g == "spec/peb":
            out[g] = (pj / hw["head_dim"], "pair x dh element")
        else:
            out[g] = (pj, e["action"])
    return out


def _ops(w, hw, speculation=True):
    """Elementary op counts per block at the target."""
    L, D, dh, H, Hkv, kn, nnz = w["L"], w["D"], w["dh"], w["H"], w["Hkv"], w["key_needed"], w["nnz"]
    read, write = _traffic(w)
    ops = {
        "exec/mac": H * L * D * dh + 2 * kn * D * dh + nnz * dh,
        "exec/requant": (H * L + 2 * kn) * dh,
        "exec/softmax": nnz,
        "exec/av": nnz * dh,
        "exec/rope": (H * L + kn) * dh,
        "exec/kv": kn,
        "fetcher": read / 8,
        "results": write / 8,
    }
    if speculation:
        ops.update({"spec/pea": (H + Hkv) * L * D * dh, "spec/loe": H * L * dh,
                    "spec/rope": (H + Hkv) * L * dh, "spec/peb": w["scored_pairs"] * dh,
                    "spec/ddf": w["scored_pairs"]})
    return ops


def model_cycles(inputs, gold, hw):
    """CYCLES_TOTAL of the layer from the cycle model (`perf`), and the source line to quote."""
    from perf import MODEL_ERROR, predict, profile_from_outputs

    rec = predict(profile_from_outputs(inputs, gold), hw)
    return rec["cycles"], f"perf cycle model ({MODEL_ERROR})"


def layer_energy(table, w, hw, area_scale=None, sram_target=None, speculation=True, cycles=None,
                 cycles_source=None):
    """Energy record of one layer: `total_pj`, `split_pj` per unit, `parts` per block, `cycles`.

    `area_scale` {block group: target size / measured size} for the per-cycle parts (None
    or a missing group: 1, said so);
    `sram_target` {measured SRAM path: CACTI figures of the same buffer at the target} (None
    or a missing path: the measured table's figures). `speculation` False: the
    design without the speculation unit (dense: every pair kept, no prediction). `cycles`: the
    layer's cycles: measured (the RTL's CYCLES_TOTAL, `cycles_source` None) or from the cycle model
    (`model_cycles`, with its `cycles_source`); None: the ideal PE-bound count x CYCLE_RATIO,
    labelled an estimate."""
    period_ns = table["clock_ns"]
    measured = cycles is not None and cycles_source is None
    if cycles is None:
        cycles = ideal_cycles(w, hw, speculation) * CYCLE_RATIO
        cycles_source = f"estimate: ideal PE-bound cycles x {CYCLE_RATIO} (measured ratio at L = 1024)"
    elif measured:
        cycles_source = "measured: RTL CYCLES_TOTAL"
    per_op = _elementary(table)
    ops = _ops(w, hw, speculation)
    parts, split = {}, {"speculation": 0.0, "execution": 0.0, "memory": 0.0, "control": 0.0}
    active = dict.fromkeys(split, 0.0)   # the actions' part (no idle, leakage or glue)
    scale = area_scale or {}
    cal = table["windows"]["job1"]
    cal_actions = cal["actions"]
    gateable = 0.0   # idle energy ideal per-flip-flop clock gating would remove (estimate)
    for g, e in table["blocks"].items():
        unit = e["unit"]
        if unit == "speculation" and not speculation:
            continue
        s = scale.get(g, 1.0)
        gateable += cycles * e["idle_pj_per_cycle"] * s * e.get("gateable_idle_fraction", 0.0)
        static = cycles * (e["idle_pj_per_cycle"] + e["leakage_pj_per_cycle"]) * s
        if "glue_pj_per_cycle" in e:
            pj = cycles * (e["glue_pj_per_cycle"] + e["leakage_pj_per_cycle"]) * s
        else:
            # per action, and per cycle of the job where the table has that part
            act = ops.get(g, 0) * per_op.get(g, (0.0, ""))[0] \
                + cycles * e.get("busy_pj_per_cycle", 0.0) * s
            active[unit] += act
            pj = act + static
        parts[g] = pj
        split[unit] += pj
    # SRAM: accesses of the measured job scaled by the unit's work (its MACs or PEA ops)
    work_cal = {"speculation": max(cal_actions.get("spec/pea", 0), 1),
                "execution": max(cal_actions.get("exec/mac", 0), 1)}
    pea_cal = cal_actions.get("spec/pea", 0) * table["config"]["hw"]["pea_lanes"]
    work_tgt = {"speculation": ops.get("spec/pea", 0) / max(pea_cal, 1) * work_cal["speculation"],
                "execution": ops["exec/mac"]}
    sram_pj = 0.0
    for path, width, depth, rp, wp, reads, writes in cal["srams"]:
        s = (sram_target or {}).get(path) or table["srams"][path]
        unit = s["unit"]
        if unit == "speculation" and not speculation:
            continue
        ratio = work_tgt.get(unit, cycles / cal["cycles"]) / work_cal.get(unit, 1) \
            if unit in work_cal else cycles / cal["cycles"]
        # a macro accesses at most once per port and cycle (several read every cycle)
        r = min(reads * ratio, cycles * rp)
        wr = min(writes * ratio, cycles * wp)
        e = r * s["read_pj"] + wr * s["write_pj"] \
            + cycles * s["leakage_uw"] * 1e-6 * period_ns * 1e-9 * 1e12
        sram_pj += e
        split["memory"] += e
        parts[f"sram:{path}"] = e
    read, write = _traffic(w)
    dram = (read + write) * DRAM_PJ_PER_BYTE
    total = sum(split.values())
    has_gating = any("gateable_idle_fraction" in e for e in table["blocks"].values())
    return {"cycles": cycles, "total_pj": total, "split_pj": split, "sram_pj": sram_pj,
            "clock_gated_estimate_pj": total - gateable if has_gating else None,
            "clock_gated_source": GATING_SOURCE if has_gating else None,
            "active_split_pj": active,
            "parts_pj": parts, "offchip_bytes": read + write, "offchip_pj": dram,
            "offchip_source": DRAM_SOURCE,
            "area_scaled": bool(area_scale),
            "cycles_measured": measured,
            "cycles_source": cycles_source}
