"""Energy per action of every block, from one gate-level run of the whole accelerator.

`measure(cfg, jobs, stimulus)`: the mapped netlist (`energy.gatesim`) runs `jobs` and then idles;
the outputs must equal the golden model's bit for bit. For each job, every net's toggles in the
job's window (from CTRL.start for CYCLES_TOTAL cycles) and in the idle window at the end set
the pin activities of one OpenSTA `report_power` each (`energy.power`); the power of every
hierarchical instance times the window gives its energy. Per block (`energy.blocks`):

    idle_pj_per_cycle   = dynamic power with nothing to do x period (clock tree, flip-flops)
    leakage_pj_per_cycle = leakage power x period
    pj_per_action       = (dynamic energy in the job - idle_pj_per_cycle x cycles) / actions

With two or more calibration jobs (`calibration`), the energy above idle is split into a part
per action and a part per cycle of a job (`busy_pj_per_cycle`: counters, state machines and
data moving through a block while the job runs, whether or not the block acts), fitted by
non-negative least squares over the calibration jobs (`fit_actions`, numpy only): a block that toggles
while it waits is then charged per cycle, not on its few actions.

Instances that are no block's (FIFOs, tables, the units' control, registers) are glue: charged
per cycle of the job (`glue_pj_per_cycle`, dynamic, idle included). SRAM macros are black boxes
in the netlist: their reads (cycles with RD_EN high) and writes (cycles with a WR_EN bit high) are
counted in the waveform and priced by CACTI (`flows.cacti.sram`). The table is cached in
build/energy/ per (configuration, liberty, clock, stimulus) as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np

from lapa.config import config_to_dict
from lapa.errors import UserError

from . import blocks as B
from .gatesim import CACHE, PERIOD_NS, run_gate_jobs
from .netlist import cell_pins, parse_modules, sram_instances
from .power import hier_power, pin_activity_lines, port_activity_lines
from .vcd import read_windows

__all__ = ["SCHEMA", "measure", "model_energy", "load_table", "fit_actions",
           "clock_gating_estimate"]

SCHEMA = "lapa-energy/1"
IDLE_CYCLES = 400


def _vcd_end(path):
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - (1 << 16)))
        tail = f.read().decode(errors="replace")
    times = re.findall(r"^#(\d+)", tail, re.M)
    if not times:
        raise UserError(f"{path}: no time stamp in its last 64 KiB")
    return int(times[-1])


def _check_golden(inputs, out, tag):
    from golden.model import run_layer
    from lapa.memlayout import MemoryLayout

    gold = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
    for name in MemoryLayout.OUTPUTS:
        if name in gold and name in out:
            if not np.array_equal(np.asarray(out[name]), np.asarray(gold[name])):
                raise UserError(f"{tag}: gate-level output {name!r} differs from the golden model")


def _children(paths):
    kids = {p: [] for p in paths}
    for p in paths:
        if p:
            parent = p.rsplit("/", 1)[0] if "/" in p else ""
            if parent in kids:
                kids[parent].append(p)
    return kids


def _own(power):
    """{path: own dynamic / leakage W} (the instance minus its hierarchical children)."""
    kids = _children(list(power))
    own = {}
    for p, rec in power.items():
        dyn = rec["internal_w"] + rec["switching_w"] - sum(
            power[k]["internal_w"] + power[k]["switching_w"] for k in kids[p])
        leak = rec["leakage_w"] - sum(power[k]["leakage_w"] for k in kids[p])
        own[p] = (dyn, leak)
    return own


def _grouped(own):
    """{block prefix or 'glue:<unit>': [dyn W, leak W]}."""
    out = {}
    for p, (dyn, leak) in own.items():
        g = B.group_of(p) if p else None
        key = g or f"glue:{B.UNIT_OF(p) if p else 'control'}"
        acc = out.setdefault(key, [0.0, 0.0])
        acc[0] += dyn
        acc[1] += leak
    return out


def _sram_accesses(srams, act, period_ps):
    """[(path, width, depth, rd ports, wr ports, reads, writes)] in the window of `act`."""
    out = []
    for path, scope, params, ports in srams:
        par = dict(re.findall(r"\.(\w+)\(\d+'[dh]([0-9a-fA-F]+)\)", params))
        width, depth = int(par["WIDTH"]), int(par["SIZE"])
        rdp, wrp = int(par.get("RD_PORTS", 1)), int(par.get("WR_PORTS", 1))

        def cycles_high(bits, per):
            best = []
            for k in range(0, len(bits), per):
                hi = 0
                for nb in bits[k:k + per]:
                    if nb is None or nb == 0:
                        continue
                    if nb == 1:   # enabled by a constant: every cycle of the window
                        hi = act.span
                        break
                    key = f"{scope}.{nb[0]}"
                    h = act.high.get(key) or act.high.get(f"{scope}.\\{nb[0]}")
                    if h is not None:
                        hi = max(hi, h[nb[1]])
                best.append(hi)
            return sum(best) / period_ps
        reads = cycles_high(ports.get("RD_EN", []), 1)
        writes = cycles_high(ports.get("WR_EN", []), width)
        out.append((B.flat_path(path), width, depth, rdp, wrp, reads, writes))   # the table's path
    return out


def clock_gating_estimate(pins, cells, idle_leaves, act, cycles, period_ns):
    """{block group: pJ a job window would save} with ideal clock gating per flip-flop: a
    flip-flop whose output does not change in a cycle could have had its clock gated, saving
    its idle energy per cycle (its clock pin and internal nodes; from its own leaf power in the
    idle window). Cycles with a change are at least the output's toggles; the clock-gate
    cells' own energy and the clock tree are not modelled, so this is an upper bound on the
    saving (an estimate, never a measurement)."""
    out = {}
    for path, cell, conns in pins:
        if not cells.get(cell, (0, False))[1] or path not in idle_leaves:
            continue
        q = conns.get("Q")
        if q is None:
            continue
        scope, name, bit = q
        tog = act.toggles.get(f"{scope}.{name}") or act.toggles.get(f"{scope}.\\{name}")
        changes = min(cycles, tog[bit]) if tog is not None and bit < len(tog) else cycles
        r = idle_leaves[path]
        idle_pj = (r["internal_w"] + r["switching_w"]) * period_ns * 1e-9 * 1e12
        g = B.group_of(path) or f"glue:{B.UNIT_OF(path)}"
        out[g] = out.get(g, 0.0) + idle_pj * (cycles - changes)
    return out


def _key(cfg, liberty, clock_ns, stimulus):
    with open(liberty, "rb") as f:
        lib = hashlib.sha256(f.read()).hexdigest()[:12]
    return hashlib.sha256(json.dumps([config_to_dict(cfg), lib, clock_ns, stimulus],
                                     sort_keys=True).encode()).hexdigest()[:12]


def load_table(path):
    try:
        with open(path) as f:
            t = json.load(f)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read an energy table ({exc})") from None
    if t.get("schema") != SCHEMA:
        raise UserError(f"{path}: not an energy table (schema {t.get('schema')!r})")
    return t


def fit_actions(rows):
    """(pJ per action, pJ per job cycle) from calibration rows (energy above idle in pJ,
    actions, cycles): one row gives the energy per action alone (busy 0, the sign kept);
    more rows a non-negative least-squares fit of both."""
    if len(rows) == 1:
        e, n, _ = rows[0]
        return (e / n if n else None), 0.0
    if not any(n for _, n, _ in rows):
        a, busy = None, max(0.0, sum(e for e, _, _ in rows) / sum(c for _, _, c in rows))
        return a, busy
    return _nnls2(np.array([[n, c] for _, n, c in rows], dtype=float),
                  np.array([e for e, _, _ in rows], dtype=float))


def _nnls2(A, y):
    """argmin |A x - y| over x >= 0 for two unknowns: the unconstrained fit when it is
    non-negative, else the better of the two one-unknown fits (each clipped at 0)."""
    scale = np.abs(A).max(axis=0)
    scale[scale == 0] = 1.0
    B = A / scale
    x, *_ = np.linalg.lstsq(B, y, rcond=None)
    if (x >= 0).all():
        return tuple(float(v) for v in x / scale)
    best = None
    for k in range(2):
        col = B[:, k]
        v = max(0.0, float(col @ y) / float(col @ col)) if col @ col > 0 else 0.0
        r = float(np.sum((col * v - y) ** 2))
        if best is None or r < best[0]:
            best = (r, k, v)
    out = [0.0, 0.0]
    out[best[1]] = best[2] / scale[best[1]]
    return tuple(out)


def measure(cfg, jobs, stimulus, *, liberty=None, clock_ns=10.0, work_dir=None, progress=print,
            calibration=1):
    """The energy table of `cfg` from `jobs` (LayerInputs; the first `calibration` are the
    calibration jobs, the others are reported as validation jobs); cached."""
    from flows.asic import tech_settings
    from flows.cacti import sram
    from flows.tools import DEFAULT_LIBERTY, check_liberty

    liberty = check_liberty(liberty or DEFAULT_LIBERTY)
    key = _key(cfg, liberty, clock_ns, stimulus) if calibration == 1 else \
        _key(cfg, liberty, clock_ns, [stimulus, calibration])
    cache = os.path.join(CACHE, f"table-{key}.json")
    if os.path.exists(cache):
        return load_table(cache)
    work = work_dir or os.path.join(CACHE, f"run-{key}")
    os.makedirs(work, exist_ok=True)
    vcd = os.path.join(work, "gate.vcd")
    done = os.path.join(work, "sim.pickle")   # the simulation, kept for a re-run of the rest
    if os.path.exists(done) and os.path.exists(vcd):
        import pickle

        from .gatesim import synthesized_top

        with open(done, "rb") as f:
            run_dir, record, results = pickle.load(f)
        run_dir, record = synthesized_top(cfg, liberty, clock_ns)   # the record by current code
    else:
        import pickle

        progress(f"energy: synthesizing and simulating the netlist at gate level "
                 f"({len(jobs)} job(s))")
        run_dir, record, results = run_gate_jobs(jobs, cfg, vcd, liberty=liberty,
                                                 period_ns=clock_ns, idle_cycles=IDLE_CYCLES,
                                                 progress=False)
        with open(done + ".tmp", "wb") as f:
            pickle.dump((run_dir, record, results), f)
        os.replace(done + ".tmp", done)
    for n, (inputs, (out, _)) in enumerate(zip(jobs, results)):
        _check_golden(inputs, out, f"job {n + 1}")
    with open(os.path.join(run_dir, "netlist.v")) as f:
        netlist_text = f.read()
    modules = parse_modules(netlist_text)
    from flows.asic import _liberty_cells

    cells = _liberty_cells(liberty)
    pins = cell_pins(modules, "top", cells)
    srams = sram_instances(modules, "top", cells)
    tech = tech_settings(liberty)
    period_ps = round(PERIOD_NS * 1000)
    end = _vcd_end(vcd)

    windows = []
    for n, (inputs, (out, counters)) in enumerate(zip(jobs, results)):
        t0 = counters["t_start_ps"]
        windows.append((f"job{n + 1}", t0, t0 + counters["cycles_total"] * period_ps, inputs,
                        out, counters))
    windows.append(("idle", end - (IDLE_CYCLES - 20) * period_ps, end, None, None, None))
    measured = {}
    progress(f"energy: toggles of every net in {len(windows)} windows (one pass over the VCD)")
    acts = read_windows(vcd, [(w[1], w[2]) for w in windows], clock="top.clk",
                        handshakes=B.AXI_HANDSHAKES)
    idle_leaves = {}
    for (tag, t0, t1, inputs, out, counters), act in zip(windows, acts):
        cycles = (t1 - t0) / period_ps
        missing = []
        lines = pin_activity_lines(pins, act, cycles, missing)
        if len(missing) > 0.001 * len(lines):
            raise UserError(f"{len(missing)} pin nets not in the VCD (e.g. {missing[:3]})")
        progress(f"energy: OpenSTA power of the {tag} window ({len(lines)} pins)")
        power = hier_power(run_dir, "top", lines, clock_ns, tech, tag,
                           port_activity_lines(netlist_text, "top", act, cycles),
                           leaves_out=idle_leaves if tag == "idle" else None)
        rec = {"t0_ps": t0, "t1_ps": t1, "cycles": cycles, "power": power,
               "groups": _grouped(_own(power)), "axi": act.handshakes,
               "srams": _sram_accesses(srams, act, period_ps)}
        if inputs is not None:
            rec["work"] = B.job_counts(inputs, out, counters)
            rec["actions"] = B.block_actions(rec["work"], cfg.hw, act.handshakes)
        measured[tag] = rec

    for (tag, t0, t1, inputs, *_), act in zip(windows, acts):
        if inputs is not None:   # the idle window is the last: its leaves are known now
            measured[tag]["gating_saved_pj"] = clock_gating_estimate(
                pins, cells, idle_leaves, act, (t1 - t0) / period_ps, clock_ns)
    period_s = clock_ns * 1e-9
    idle = measured["idle"]["groups"]
    cals = [measured[f"job{k + 1}"] for k in range(calibration)]
    cal = cals[0]
    table = {}
    for g, (dyn, leak) in cal["groups"].items():
        idle_pj = idle[g][0] * period_s * 1e12
        leak_pj = leak * period_s * 1e12
        e_job = dyn * cal["cycles"] * period_s * 1e12
        entry = {"unit": g.split(":", 1)[1] if g.startswith("glue:") else B.UNIT_OF(g),
                 "idle_pj_per_cycle": idle_pj, "leakage_pj_per_cycle": leak_pj,
                 "job_dynamic_pj": e_job}
        if g.startswith("glue:"):
            e_all = sum(c["groups"][g][0] * c["cycles"] for c in cals) * period_s * 1e12
            entry.update(action="cycle of the job",
                         glue_pj_per_cycle=e_all / sum(c["cycles"] for c in cals))
        else:
            rows = [(c["groups"][g][0] * c["cycles"] * period_s * 1e12 - idle_pj * c["cycles"],
                     c["actions"][g], c["cycles"]) for c in cals]
            per_action, busy = fit_actions(rows)
            action = next(a for p, _, a in B.BLOCKS if p == g)
            entry.update(action=action, actions=sum(r[1] for r in rows),
                         pj_per_action=per_action, busy_pj_per_cycle=busy)
        idle_all = idle_pj * sum(c["cycles"] for c in cals)
        saved = sum(c.get("gating_saved_pj", {}).get(g, 0.0) for c in cals)
        entry["gateable_idle_fraction"] = min(1.0, saved / idle_all) if idle_all > 0 else 0.0
        table[g] = entry
    sram_figs = {}
    for path, w, d, rp, wp, reads, writes in cal["srams"]:
        fig = sram(w, d, rp, wp)
        sram_figs[path] = {"width": w, "depth": d, "read_pj": fig["read_pj"],
                           "write_pj": fig["write_pj"], "leakage_uw": fig["leakage_uw"],
                           "area_um2": fig["area_um2"], "unit": B.UNIT_OF(path)}
    out = {"schema": SCHEMA, "config": config_to_dict(cfg), "liberty": liberty,
           "clock_ns": clock_ns, "stimulus": stimulus, "key": key,
           "method": "Icarus zero-delay gate-level simulation of the mapped netlist (Yosys + ABC, "
                     "OSU 0.18 um), per-pin activities into OpenSTA report_power; SRAM from CACTI",
           "synthesis": {"cells": record["cells"], "area_um2": record["area_um2"],
                         "sram_area_um2": record["sram_area_um2"],
                         "submodules": record["submodules"]},
           "blocks": table, "srams": sram_figs,
           "windows": {tag: {k: v for k, v in rec.items() if k != "power"}
                       | {"total_w": rec["power"][""]} for tag, rec in measured.items()}}
    out["calibration_jobs"] = [f"job{k + 1}" for k in range(calibration)]
    out["validation"] = {tag: validate(out, rec) for tag, rec in measured.items()
                         if tag not in out["calibration_jobs"] + ["idle"]}
    tmp = cache + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1, default=float)
    os.replace(tmp, cache)
    return out


def validate(table, rec):
    """A job's whole-design gate-level energy (logic, the netlist's) against the per-action
    model's prediction from its action counts and cycles: pJ, and the error per unit."""
    period_s = table["clock_ns"] * 1e-9
    p = rec["power"][""] if "power" in rec else rec["total_w"]
    measured = p["total_w"] * rec["cycles"] * period_s * 1e12
    pred, _ = model_energy(table, rec["actions"], rec["cycles"])
    by_unit_pred, by_unit_meas = {}, {}
    for g, pj in pred.items():
        u = table["blocks"][g]["unit"]
        by_unit_pred[u] = by_unit_pred.get(u, 0.0) + pj
    for g, (dyn, leak) in rec["groups"].items():
        u = table["blocks"][g]["unit"] if g in table["blocks"] else g.split(":")[-1]
        by_unit_meas[u] = by_unit_meas.get(u, 0.0) + (dyn + leak) * rec["cycles"] * period_s * 1e12
    total_pred = sum(pred.values())
    # the part that depends on activity: above idle and leakage, which dominate (no clock gating)
    static = rec["cycles"] * sum(e["idle_pj_per_cycle"] + e["leakage_pj_per_cycle"]
                                 for e in table["blocks"].values())
    active_pred = sum(rec["actions"].get(g, 0) * (e.get("pj_per_action") or 0.0)
                      + rec["cycles"] * (e.get("glue_pj_per_cycle", e["idle_pj_per_cycle"])
                                         - e["idle_pj_per_cycle"] + e.get("busy_pj_per_cycle", 0.0))
                      for g, e in table["blocks"].items())
    return {"measured_pj": measured, "predicted_pj": total_pred,
            "active_measured_pj": measured - static, "active_predicted_pj": active_pred,
            "active_error": active_pred / (measured - static) - 1.0 if measured > static else None,
            "error": total_pred / measured - 1.0, "cycles": rec["cycles"], "work": rec["work"],
            "by_unit": {u: {"measured_pj": by_unit_meas.get(u, 0.0),
                            "predicted_pj": by_unit_pred.get(u, 0.0)} for u in
                        sorted(set(by_unit_pred) | set(by_unit_meas))},
            "by_block": {g: {"measured_pj": (rec["groups"][g][0] + rec["groups"][g][1])
                             * rec["cycles"] * period_s * 1e12, "predicted_pj": pj}
                         for g, pj in pred.items() if g in rec["groups"]}}


def model_energy(table, actions, cycles, sram_accesses=None):
    """Energy (pJ) of a job by the per-action model: {group: pJ} and the SRAM part.

    `actions` {block prefix: count}, `cycles` of the job, `sram_accesses` {path: (reads,
    writes)} (None: the SRAMs are left out)."""
    out = {}
    for g, e in table["blocks"].items():
        per_cycle = e["leakage_pj_per_cycle"]
        if "glue_pj_per_cycle" in e:
            out[g] = cycles * (e["glue_pj_per_cycle"] + per_cycle)
        else:
            out[g] = (actions.get(g, 0) * (e["pj_per_action"] or 0.0)
                      + cycles * (e["idle_pj_per_cycle"] + e.get("busy_pj_per_cycle", 0.0)
                                  + per_cycle))
    sram_pj = {}
    if sram_accesses is not None:
        for path, (reads, writes) in sram_accesses.items():
            s = table["srams"][path]
            sram_pj[path] = (reads * s["read_pj"] + writes * s["write_pj"]
                             + cycles * s["leakage_uw"] * 1e-6 * table["clock_ns"] * 1e-9 * 1e12)
    return out, sram_pj
