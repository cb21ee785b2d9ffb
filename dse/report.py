"""A sweep's results: `results.jsonl` (one line per point), `report.json`, `report.md` and the
Pareto plots (`pareto-area-cycles.png`, `pareto-energy-ppl.png`, `pareto-work-ppl.png`), written
atomically.

Every figure names its source: area and Fmax from the ASIC flow (a dense point's area is the
design without its speculation unit), cycles measured on the RTL, "ideal cycles" the PE-bound
lower bound of `host.job.ideal_cycles` computed from the golden model's counts (a model: its
ratio to the RTL's cycles is reported wherever both exist), energy from the energy task
(`dse.tasks.energy`, whose record says where its actions, cycles and table came from), work and
perplexity change from `build.py eval` on SmolLM2-135M (the eval task, or an eval report given
with `--from-eval`). Tasks not built yet are listed as unavailable; nothing stands in for their
numbers.
"""

from __future__ import annotations

import json
import os

from lapa.config import HardwareConfig
from perf import MODEL_ERROR
from lapa.report import markdown_table, write_json, write_text_atomic

from .params import HW_KEYS
from .pareto import front
from .plots import pareto_plot
from .points import point_label
from .tasks import TASKS

__all__ = ["build_rows", "write_report", "SCHEMA"]

SCHEMA = "lapa-sweep/1"
_SHORT = {"pea_lanes": "pea", "peb_lanes": "peb", "mac_rows": "mr", "mac_cols": "mc", "av_lanes": "av",
          "max_seq_len": "Lmax", "seq_len": "L", "d_model": "D", "head_dim": "dh", "n_heads": "H",
          "n_kv_heads": "Hkv", "ctx": "ctx", "windows": "w", "clock_ns": "T"}


def _cell(cell, records):
    if isinstance(cell, tuple):
        return {"status": cell[0], "reason": cell[1]}
    rec = records.get(cell)
    if rec is None:
        return {"status": "not run", "key": cell}
    if rec["status"] == "ok":
        return {"status": "ok", "key": cell, "result": rec["result"]}
    return {"status": "failed", "key": cell, "error": rec["error"]}


def _design_area(synth, predictor):
    """(area, Fmax) of the point's design: dense has no speculation unit."""
    if predictor != "dense":
        return synth["area_um2"], synth["fmax_mhz"]
    units = {u: v for u, v in synth["units"].items() if u != "speculation"}
    fmax = [b["fmax_mhz"] for b in synth["blocks"].values() if b["unit"] != "speculation" and b["fmax_mhz"]]
    return sum(u["area_um2"] for u in units.values()), min(fmax) if fmax else None


def eval_lookup(report, path):
    """{(predictor, setting label or None, ctx): eval record} of a `build.py eval` report.json.

    Matched by the setting's label (`Setting.label_for`: the knobs that predictor reads), so a
    field the predictor does not read (eta in margin mode, sg_prob for lapa) does not matter."""
    results = report.get("results") if isinstance(report, dict) else None
    if not isinstance(results, list):
        raise ValueError(f"{path}: not a build.py eval report (no results list)")
    out = {}
    for r in results:
        if not isinstance(r, dict) or "ppl_change" not in r or "predictor" not in r:
            raise ValueError(f"{path}: a result without predictor / ppl_change")
        setting = None if r["predictor"] == "dense" else r.get("label")
        out.setdefault((r["predictor"], setting, r.get("ctx")), r)
    return out


def _from_eval(point, sweep, lookup):
    if not lookup:
        return None
    setting = None if point["predictor"] == "dense" else \
        sweep.settings[point["setting"]].label_for(point["predictor"])
    return lookup.get((point["predictor"], setting, point["ctx"]))


def _metrics(point, tasks, given_eval=None):
    from host.job import ideal_cycles

    m = {}
    ok = {t: c["result"] for t, c in tasks.items() if c["status"] == "ok"}
    if "synth" in ok:
        area, fmax = _design_area(ok["synth"], point["predictor"])
        m.update(area_um2=area, fmax_mhz=fmax)
    if "work" in ok:
        w = ok["work"]
        hw = HardwareConfig(**{k: point[k] for k in HW_KEYS})
        s = w["shape"]
        spec, execm = ideal_cycles(hw, (s["L"], s["D"], s["dh"], s["H"], s["Hkv"]), sum(w["candidates"]),
                                   w["mask_nnz"], w["key_needed"])
        m.update(work_exec_reduction=w["exec_reduction"], work_density=w["density"],
                 ideal_cycles=round(max(spec, execm)), work_seq_len=s["L"])
    if "cycles" in ok:
        c = ok["cycles"]
        m.update(cycles=c["cycles"], cycles_ideal=c["ideal_cycles"], cycles_over_ideal=c["cycles_over_ideal"],
                 bit_exact=c["bit_exact"], cycles_seq_len=c["shape"]["L"], cycles_backend=c.get("backend", "rtl"))
    if "energy" in ok:
        e = ok["energy"]
        m.update(energy_pj=e["energy_pj"], energy_split_pj=e["split_pj"], energy_cycles=e["cycles"],
                 energy_cycles_measured=e["cycles_measured"], edp_pj_s=e["edp_pj_s"],
                 energy_seq_len=e["work"]["L"], energy_area_scaled=e["area_scaled"])
    e = ok.get("eval") or given_eval
    if e is not None:
        m.update(ppl_change=e["ppl_change"], eval_exec_reduction=e["exec_reduction"], eval_density=e["density"],
                 ppl_source="eval task" if "eval" in ok else f"--from-eval (ctx {e.get('ctx')}, {e.get('label')})")
    return m


def build_rows(sweep, pts, cells, records, from_eval=None):
    rows = []
    for p, cell in zip(pts, cells):
        tasks = {t: _cell(cell[t], records) for t in sweep.tasks}
        rows.append({"point": point_label(sweep, p), "axes": {n: p[n] for n in sweep.axes},
                     "tasks": tasks, "metrics": _metrics(p, tasks, _from_eval(p, sweep, from_eval))})
    return rows


def _short(sweep, row, keys):
    parts = []
    for n in sweep.axes:
        if n in keys:
            v = row["axes"][n]
            parts.append(str(v) if isinstance(v, str) else f"{_SHORT.get(n, n)}{v:g}" if isinstance(v, float)
                         else f"{_SHORT.get(n, n)}{v}")
    return " ".join(parts) or "fixed"


def _dedup(rows, key_of):
    seen, out = set(), []
    for r in rows:
        k = key_of(r)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _key_of(row, task):
    return row["tasks"].get(task, {}).get("key")


def _area_cycles(sweep, rows, out_dir):
    """Area against cycles: RTL-measured cycles where the point has them; else (dense, which the
    RTL does not build, or a sweep without cycles) the energy task's estimate or the work task's
    ideal cycles, drawn as model points."""
    have = [r for r in rows if "area_um2" in r["metrics"] and r["tasks"].get("cycles", {}).get("status") != "failed"]
    measured = [r for r in have if "cycles" in r["metrics"]]
    pts = []
    for r in have:
        m = r["metrics"]
        if "cycles" in m:
            kind = "model" if m.get("cycles_backend") == "model" else "measured"
            pts.append((r, m["cycles"], kind, m["cycles_seq_len"], ("synth", "cycles")))
        elif measured and r["axes"].get("predictor", sweep.fixed["predictor"]) != "dense":
            continue            # a predictor the RTL could measure: no model point beside measured ones
        elif "energy_cycles" in m:
            pts.append((r, m["energy_cycles"], "model", m["energy_seq_len"], ("synth", "energy")))
        elif "ideal_cycles" in m and not measured:
            pts.append((r, m["ideal_cycles"], "model", m["work_seq_len"], ("synth", "work")))
    pts = _dedup(pts, lambda p: (p[2],) + tuple(_key_of(p[0], t) for t in p[4]))
    if not pts:
        return {"missing": "needs synth and cycles (or work / energy, for the cycle models)"}
    xs = [p[1] for p in pts]
    ys = [p[0]["metrics"]["area_um2"] for p in pts]
    idx = front(xs, ys)
    keys = set(TASKS["synth"].keys) | set(TASKS["cycles"].keys)
    labels = [_short(sweep, p[0], keys) for p in pts]
    lens = sorted({p[3] for p in pts})
    kinds = sorted({p[2] for p in pts})
    what = (f"cycles at L = {', '.join(map(str, lens))}: "
            + "; ".join({"measured": "RTL-measured (cycles task)",
                         "model": "model (the perf cycle model of a cycles task with backend = 'model', "
                                  f"{MODEL_ERROR}, or of the energy task where the point has no cycles job; "
                                  "the ideal alone without an energy result)"}[k] for k in kinds))
    path = os.path.join(out_dir, "pareto-area-cycles.png")
    pareto_plot(path, [(x, y / 1e6, lab, p[2]) for x, y, lab, p in zip(xs, ys, labels, pts)], idx,
                f"cycles per layer, L = {', '.join(map(str, lens))} (measured: RTL; model: perf cycle model)",
                "area, mm^2 (OSU 0.18 um; SRAM from CACTI)", f"{sweep.name}: area against cycles",
                note="dense: the execution unit alone (no speculation unit); the report's table gives each point")
    return {"x": "cycles", "x_source": what, "y": "area_um2", "plot": os.path.basename(path),
            "points": [{"label": labels[i], "cycles": xs[i], "area_um2": ys[i], "cycles_kind": pts[i][2]}
                       for i in idx], "n_points": len(pts)}


def _energy_ppl(sweep, rows, out_dir):
    ev = [r for r in rows if "ppl_change" in r["metrics"] and "energy_pj" in r["metrics"]]
    ev = _dedup(ev, lambda r: (_key_of(r, "energy"), _key_of(r, "eval") or r["metrics"]["ppl_source"]))
    if not ev:
        return {"missing": "needs the energy task and PPL figures (the eval task or --from-eval)"}
    xs = [100 * r["metrics"]["ppl_change"] for r in ev]
    ys = [r["metrics"]["energy_pj"] / 1e6 for r in ev]
    idx = front(xs, ys)
    labels = [_short(sweep, r, set(TASKS["energy"].keys) | set(TASKS["eval"].keys)) for r in ev]
    kinds = ["measured" if r["metrics"]["energy_cycles_measured"] else "model" for r in ev]
    lens = sorted({r["metrics"]["energy_seq_len"] for r in ev})
    srcs = sorted({r["metrics"]["ppl_source"] for r in ev})
    path = os.path.join(out_dir, "pareto-energy-ppl.png")
    pareto_plot(path, [(x, y, lab, k) for x, y, lab, k in zip(xs, ys, labels, kinds)], idx,
                "perplexity change against dense, % (SmolLM2-135M, "
                + " and ".join(sorted({"eval task" if x == "eval task" else "--from-eval" for x in srcs})) + ")",
                f"energy per layer, uJ (energy task, L = {', '.join(map(str, lens))})",
                f"{sweep.name}: energy against accuracy",
                note="measured: actions and cycles from the RTL; model: golden actions, perf cycle model cycles")
    return {"x": "ppl_change_pct", "y": "energy_uj", "plot": os.path.basename(path), "ppl_sources": srcs,
            "points": [{"label": labels[i], "ppl_change_pct": xs[i], "energy_uj": ys[i], "cycles_kind": kinds[i]}
                       for i in idx], "n_points": len(ev)}


def _work_ppl(sweep, rows, out_dir):
    def same_eval(r):   # dense has no DDF setting: one figure whatever the point's setting
        pred = r["axes"].get("predictor", sweep.fixed["predictor"])
        return _key_of(r, "eval") or (r["metrics"]["ppl_source"], pred,
                                      None if pred == "dense" else r["axes"].get("setting", sweep.fixed["setting"]))

    ev = _dedup([r for r in rows if "ppl_change" in r["metrics"]], same_eval)
    if not ev:
        return {"missing": "needs PPL figures (the eval task or --from-eval)"}
    xs = [100 * r["metrics"]["ppl_change"] for r in ev]
    ys = [100 * (1 - r["metrics"]["eval_exec_reduction"]) for r in ev]
    idx = front(xs, ys)
    labels = [_short(sweep, r, set(TASKS["eval"].keys)) for r in ev]
    path = os.path.join(out_dir, "pareto-work-ppl.png")
    pareto_plot(path, [(x, y, lab, "measured") for x, y, lab in zip(xs, ys, labels)], idx,
                "perplexity change against dense, % (SmolLM2-135M, build.py eval)",
                "execution MACs, % of dense (SPEC 7 / 8)", f"{sweep.name}: work against accuracy")
    return {"x": "ppl_change_pct", "y": "exec_pct (execution MACs, % of dense)", "plot": os.path.basename(path),
            "points": [{"label": labels[i], "ppl_change_pct": xs[i], "exec_pct": ys[i]} for i in idx],
            "n_points": len(ev)}


def _fronts(sweep, rows, out_dir):
    return {"area_cycles": _area_cycles(sweep, rows, out_dir), "energy_ppl": _energy_ppl(sweep, rows, out_dir),
            "work_ppl": _work_ppl(sweep, rows, out_dir)}


def _fmt(v, spec=",.0f"):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return format(v, spec)


def _markdown(sweep, rows, counts, unavailable, meta, fronts):
    out = [f"# Sweep `{sweep.name}`", "",
           f"{len(rows)} points from `{sweep.path}`: tasks {', '.join(sweep.tasks)}; axes "
           + "; ".join(f"{n} = {', '.join(map(str, v))}" for n, v in sweep.axes.items()) + ".", "",
           f"This run: {meta['wall_s']:.0f} s wall time on "
           + (f"the scheduler {meta['scheduler']}" if meta["scheduler"] else f"a local cluster of {meta['workers']} workers")
           + f"; {meta['ran']} jobs run, {meta['kept']} kept from an earlier run"
           + (f", {meta['not_run']} not run yet (`--report-only`: this report shows the stored results only)"
              if meta.get("not_run") else "")
           + (f". The stored jobs took {t['compute_s']:,.0f} s of worker time ("
              + ", ".join(f"{k} {v:,.0f} s" for k, v in t["by_task_s"].items())
              + f") over {t['span_s']:,.0f} s from the first start to the last finish"
              if (t := meta.get("jobs_time")) else "") + ". Code: "
           + ", ".join(f"{t} {v}" for t, v in meta["code_versions"].items())
           + (f" (commit {meta['git']['commit'][:12]}{', with uncommitted changes' if meta['git']['dirty'] else ''})"
              if meta.get("git") and meta["git"].get("commit") else "") + ".", ""]
    if meta.get("from_eval"):
        got = sum("ppl_source" in r["metrics"] and r["metrics"]["ppl_source"] != "eval task" for r in rows)
        out += [f"PPL figures of {got} of {len(rows)} points from `{meta['from_eval']}` (--from-eval: matched "
                "by predictor, DDF setting and the point's ctx). They are SmolLM2-135M's, while energy and "
                "cycles are measured on the sweep's random example layer at the same setting: the pairing "
                "is by setting, not by layer.", ""]
    out += ["## Jobs", "", markdown_table(("task", "jobs", "ok", "failed", "not run", "points out of reach"),
                                          [(t, c["jobs"], c["ok"], c["failed"], c["not run"], c["skip"])
                                           for t, c in counts.items()]), ""]
    for t, why in unavailable.items():
        out.append(f"- `{t}`: unavailable ({why}); no figure stands in for it.")
    reasons = sorted({c["reason"] for r in rows for c in r["tasks"].values() if c["status"] == "skip"})
    out += [f"- out of reach: {why}" for why in reasons]
    failed = _dedup([(r["point"], t, c) for r in rows for t, c in r["tasks"].items() if c["status"] == "failed"],
                    lambda f: f[2]["key"])
    if failed:
        out += ["", "## Failed jobs", "", markdown_table(("task", "first point", "error"),
                                                         [(t, p, c["error"]) for p, t, c in failed])]
    def lens(key):
        got = sorted({r["metrics"][key] for r in rows if key in r["metrics"]})
        return f" (L = {', '.join(map(str, got))})" if got else ""

    backends = sorted({r["metrics"]["cycles_backend"] for r in rows if "cycles_backend" in r["metrics"]})
    cyc = {"model": "cycles (perf model)", "rtl": "RTL cycles"}.get(backends[0], "RTL cycles") \
        if len(backends) == 1 else "cycles (RTL or perf model)"
    out += ["", "## Points", "", markdown_table(
        ("point", "area um^2", "Fmax MHz", f"{cyc}{lens('cycles_seq_len')}", "cycles / ideal", "bit-exact",
         f"ideal cycles (model){lens('work_seq_len')}", "exec. reduction (work)", "density (work)",
         "PPL change (eval)", "exec. reduction (eval)", f"energy uJ{lens('energy_seq_len')}",
         "spec / exec / mem / ctrl uJ", "energy cycles"),
        [(r["point"], _fmt(m.get("area_um2")), _fmt(m.get("fmax_mhz"), ".1f"), _fmt(m.get("cycles")),
          _fmt(m.get("cycles_over_ideal"), ".2f"), _fmt(m.get("bit_exact")), _fmt(m.get("ideal_cycles")),
          _fmt(m.get("work_exec_reduction"), ".1%"), _fmt(m.get("work_density"), ".1%"),
          _fmt(m.get("ppl_change"), "+.2%"), _fmt(m.get("eval_exec_reduction"), ".1%"),
          _fmt(m["energy_pj"] / 1e6 if "energy_pj" in m else None, ".3f"),
          " / ".join(f"{m['energy_split_pj'][u] / 1e6:.3f}" for u in ("speculation", "execution", "memory", "control"))
          if "energy_split_pj" in m else "-",
          ("RTL" if m["energy_cycles_measured"] else "model") if "energy_pj" in m else "-")
         for r in rows for m in (r["metrics"],)])]
    energy = [r["tasks"]["energy"]["result"] for r in rows if r["tasks"].get("energy", {}).get("status") == "ok"]
    if energy:
        tables = sorted({f"{e['table']['path']} ({e['table']['kind']}, key {e['table']['key']})" for e in energy})
        out += ["", "Energy (the energy task, `energy.layer`): actions x energy per action from the measured table "
                + "; ".join(f"`{t}`" for t in tables) + " + SRAM accesses x CACTI at each point's buffer shapes "
                "+ (idle + leakage) x cycles; off-chip traffic apart. Cycles: RTL-measured where the point has a "
                "cycles result (\"RTL\"), else the perf cycle model's on the golden outputs (\"model\"). Idle and leakage: "
                + "; ".join(sorted({e["static_source"] for e in energy})) + "."]
    ratios = [r["metrics"]["cycles_over_ideal"] for r in rows if "cycles_over_ideal" in r["metrics"]]
    if ratios:
        out += ["", f"{cyc} against the PE-bound ideal (the model behind \"ideal cycles\"), over "
                f"{len(ratios)} points: {min(ratios):.2f} .. {max(ratios):.2f} (mean "
                f"{sum(ratios) / len(ratios):.2f}); the ideal is a lower bound, not a prediction."
                + (f" The perf cycle model: {MODEL_ERROR}." if "model" in backends else "")]
    out += ["", "## Pareto fronts", ""]
    for name, title, cols in (("area_cycles", "Area against cycles", (("cycles", ",.0f"), ("area_um2", ",.0f"),
                                                                       ("cycles_kind", ""))),
                              ("energy_ppl", "Energy against perplexity change",
                               (("ppl_change_pct", "+.2f"), ("energy_uj", ".3f"), ("cycles_kind", ""))),
                              ("work_ppl", "Work against perplexity change",
                               (("ppl_change_pct", "+.2f"), ("exec_pct", ".1f")))):
        f = fronts[name]
        if "missing" in f:
            out += [f"{title}: not drawn ({f['missing']}).", ""]
            continue
        out += [f"{title} (`{f['plot']}`; {len(f['points'])} of {f['n_points']} distinct points on the front"
                + (f"; cycles: {f['x_source']}" if name == "area_cycles" else "") + "):", "",
                markdown_table(("point",) + tuple(c for c, _ in cols), _same_figures(f["points"], cols)), ""]
    return "\n".join(out) + "\n"


def _same_figures(points, cols):
    """Front table rows, one per distinct set of figures: points that tie on every column (dense at
    every lane count and backend shares one design and one cycle model figure) in one row, the
    first label and how many more."""
    rows = {}
    for p in points:
        figs = tuple(_fmt(p[c], spec) for c, spec in cols)
        rows.setdefault(figs, []).append(p["label"])
    return [(labels[0] + (f" (+{len(labels) - 1} more with the same figures)" if len(labels) > 1 else ""), *figs)
            for figs, labels in rows.items()]


def _timing(records):
    """Compute time (sum of the jobs' seconds) and span (first start to last finish) of the
    stored jobs: the cost of the results, whichever runs made them."""
    import datetime

    done = [r for r in records.values() if r and r.get("seconds") is not None and r.get("finished")]
    if not done:
        return None
    ends = [datetime.datetime.fromisoformat(r["finished"]).timestamp() for r in done]
    starts = [e - r["seconds"] for e, r in zip(ends, done)]
    return {"compute_s": round(sum(r["seconds"] for r in done), 1), "span_s": round(max(ends) - min(starts), 1),
            "by_task_s": {t: round(sum(r["seconds"] for r in done if r["task"] == t), 1)
                          for t in sorted({r["task"] for r in done})}}


def write_report(sweep, out_dir, pts, cells, records, meta, from_eval=None):
    """Write every output; returns the report record. `from_eval` (path, eval_lookup(...)) of an
    eval report whose PPL figures join the points the sweep has no eval result for."""
    meta = {**meta, "jobs_time": _timing(records), "from_eval": from_eval[0] if from_eval else None}
    rows = build_rows(sweep, pts, cells, records, from_eval[1] if from_eval else None)
    counts = {}
    for t in sweep.tasks:
        cs = [r["tasks"][t] for r in rows]
        jobs = {c["key"]: c["status"] for c in cs if "key" in c}
        counts[t] = {"jobs": len(jobs), "ok": sum(s == "ok" for s in jobs.values()),
                     "failed": sum(s == "failed" for s in jobs.values()),
                     "not run": sum(s == "not run" for s in jobs.values()),
                     "skip": sum(c["status"] == "skip" for c in cs)}
    unavailable = {t: TASKS[t].reason for t in sweep.tasks if not TASKS[t].available}
    fronts = _fronts(sweep, rows, out_dir)
    record = {"schema": SCHEMA, "name": sweep.name, "sweep_file": sweep.path, "tasks": list(sweep.tasks),
              "axes": {k: list(v) for k, v in sweep.axes.items()},
              "fixed": {k: v for k, v in sweep.fixed.items() if k not in sweep.axes},
              "settings": {k: v.to_dict() for k, v in sweep.settings.items()},
              "overrides": sweep.overrides, "meta": meta, "counts": counts, "unavailable": unavailable,
              "fronts": fronts, "points": rows}
    write_text_atomic(os.path.join(out_dir, "results.jsonl"),
                      "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    write_json(os.path.join(out_dir, "report.json"), record)
    write_text_atomic(os.path.join(out_dir, "report.md"),
                      _markdown(sweep, rows, counts, unavailable, meta, fronts))
    return record
