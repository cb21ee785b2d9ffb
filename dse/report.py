"""A sweep's results: `results.jsonl` (one line per point), `report.json`, `report.md` and the
Pareto plots (`pareto-area-cycles.png`, `pareto-work-ppl.png`), written atomically.

Every figure names its source: area and Fmax from the ASIC flow, cycles measured on the RTL,
"ideal cycles" the PE-bound lower bound of `host.job.ideal_cycles` computed from the golden
model's counts (a model: its ratio to the RTL's cycles is reported wherever both exist), work
and perplexity change from `build.py eval` on SmolLM2-135M. Tasks not built yet are listed as
unavailable; nothing stands in for their numbers.
"""

from __future__ import annotations

import json
import os

from lapa.config import HardwareConfig
from perf import MODEL_ERROR
from lapa.report import markdown_table, write_json, write_text_atomic

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


def _metrics(point, tasks):
    from host.job import ideal_cycles

    m = {}
    ok = {t: c["result"] for t, c in tasks.items() if c["status"] == "ok"}
    if "synth" in ok:
        m.update(area_um2=ok["synth"]["area_um2"], fmax_mhz=ok["synth"]["fmax_mhz"])
    if "work" in ok:
        w = ok["work"]
        hw = HardwareConfig(**{k: point[k] for k in HardwareConfig.__dataclass_fields__})
        s = w["shape"]
        spec, execm = ideal_cycles(hw, (s["L"], s["D"], s["dh"], s["H"], s["Hkv"]), sum(w["candidates"]),
                                   w["mask_nnz"], w["key_needed"])
        m.update(work_exec_reduction=w["exec_reduction"], work_density=w["density"],
                 ideal_cycles=round(max(spec, execm)), work_seq_len=s["L"])
    if "cycles" in ok:
        c = ok["cycles"]
        m.update(cycles=c["cycles"], cycles_ideal=c["ideal_cycles"], cycles_over_ideal=c["cycles_over_ideal"],
                 bit_exact=c["bit_exact"], cycles_seq_len=c["shape"]["L"], cycles_backend=c.get("backend", "rtl"))
    if "eval" in ok:
        e = ok["eval"]
        m.update(ppl_change=e["ppl_change"], eval_exec_reduction=e["exec_reduction"], eval_density=e["density"])
    return m


def build_rows(sweep, pts, cells, records):
    rows = []
    for p, cell in zip(pts, cells):
        tasks = {t: _cell(cell[t], records) for t in sweep.tasks}
        rows.append({"point": point_label(sweep, p), "axes": {n: p[n] for n in sweep.axes},
                     "tasks": tasks, "metrics": _metrics(p, tasks)})
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


def _fronts(sweep, rows, out_dir):
    fronts = {}
    have = [r for r in rows if "area_um2" in r["metrics"]]
    measured = [r for r in have if "cycles" in r["metrics"]]
    which, src = (("cycles", "measured"), measured) if measured else \
        (("ideal_cycles", "model"), [r for r in have if "ideal_cycles" in r["metrics"]])
    keys = set(TASKS["synth"].keys) | set(TASKS["cycles" if measured else "work"].keys)
    src = _dedup(src, lambda r: (r["tasks"]["synth"]["key"], r["tasks"]["cycles" if measured else "work"]["key"]))
    if src:
        xs = [r["metrics"][which[0]] for r in src]
        ys = [r["metrics"]["area_um2"] for r in src]
        idx = front(xs, ys)
        labels = [_short(sweep, r, keys) for r in src]
        lens = sorted({r["metrics"]["cycles_seq_len" if measured else "work_seq_len"] for r in src})
        at = f"L = {', '.join(map(str, lens))}"
        modelled = any(r["metrics"].get("cycles_backend") == "model" for r in src) if measured else False
        what = (f"cycles (perf cycle model, {MODEL_ERROR}, {at})" if modelled else f"RTL cycles (measured, {at})") \
            if measured else \
            f"ideal cycles (PE-bound model, host.job.ideal_cycles, {at})"
        path = os.path.join(out_dir, "pareto-area-cycles.png")
        pareto_plot(path, [(x, y, lab, which[1]) for x, y, lab in zip(xs, ys, labels)], idx,
                    what, "area, um^2 (ASIC flow, OSU 0.18 um, SRAM from CACTI)",
                    f"{sweep.name}: area against cycles")
        fronts["area_cycles"] = {"x": which[0], "x_source": what, "y": "area_um2", "plot": os.path.basename(path),
                                 "points": [{"label": labels[i], "cycles": xs[i], "area_um2": ys[i]} for i in idx],
                                 "n_points": len(src)}
    else:
        fronts["area_cycles"] = {"missing": "needs synth and cycles (or work, for the ideal-cycles model)"}
    ev = _dedup([r for r in rows if "ppl_change" in r["metrics"]], lambda r: r["tasks"]["eval"]["key"])
    if ev:
        xs = [100 * r["metrics"]["ppl_change"] for r in ev]
        ys = [100 * (1 - r["metrics"]["eval_exec_reduction"]) for r in ev]
        idx = front(xs, ys)
        labels = [_short(sweep, r, set(TASKS["eval"].keys)) for r in ev]
        path = os.path.join(out_dir, "pareto-work-ppl.png")
        pareto_plot(path, [(x, y, lab, "measured") for x, y, lab in zip(xs, ys, labels)], idx,
                    "perplexity change against dense, % (SmolLM2-135M, build.py eval)",
                    "execution MACs, % of dense (SPEC 7 / 8)", f"{sweep.name}: work against accuracy",
                    note="energy: unavailable (no energy model yet); execution work stands in as the cost")
        fronts["work_ppl"] = {"x": "ppl_change_pct", "y": "exec_pct (execution MACs, % of dense)", "plot": os.path.basename(path),
                              "points": [{"label": labels[i], "ppl_change_pct": xs[i], "exec_pct": ys[i]}
                                         for i in idx], "n_points": len(ev)}
    else:
        fronts["work_ppl"] = {"missing": "needs the eval task (energy is unavailable)"}
    return fronts


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
           + (f". The stored jobs took {t['compute_s']:,.0f} s of worker time ("
              + ", ".join(f"{k} {v:,.0f} s" for k, v in t["by_task_s"].items())
              + f") over {t['span_s']:,.0f} s from the first start to the last finish"
              if (t := meta.get("jobs_time")) else "") + ". Code: "
           + ", ".join(f"{t} {v}" for t, v in meta["code_versions"].items())
           + (f" (commit {meta['git']['commit'][:12]}{', with uncommitted changes' if meta['git']['dirty'] else ''})"
              if meta.get("git") and meta["git"].get("commit") else "") + ".", ""]
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
         "PPL change (eval)", "exec. reduction (eval)"),
        [(r["point"], _fmt(m.get("area_um2")), _fmt(m.get("fmax_mhz"), ".1f"), _fmt(m.get("cycles")),
          _fmt(m.get("cycles_over_ideal"), ".2f"), _fmt(m.get("bit_exact")), _fmt(m.get("ideal_cycles")),
          _fmt(m.get("work_exec_reduction"), ".1%"), _fmt(m.get("work_density"), ".1%"),
          _fmt(m.get("ppl_change"), "+.2%"), _fmt(m.get("eval_exec_reduction"), ".1%"))
         for r in rows for m in (r["metrics"],)])]
    ratios = [r["metrics"]["cycles_over_ideal"] for r in rows if "cycles_over_ideal" in r["metrics"]]
    if ratios:
        out += ["", f"{cyc} against the PE-bound ideal (the model behind \"ideal cycles\"), over "
                f"{len(ratios)} points: {min(ratios):.2f} .. {max(ratios):.2f} (mean "
                f"{sum(ratios) / len(ratios):.2f}); the ideal is a lower bound, not a prediction."
                + (f" The perf cycle model: {MODEL_ERROR}." if "model" in backends else "")]
    out += ["", "## Pareto fronts", ""]
    for name, title, cols in (("area_cycles", "Area against cycles", (("cycles", ",.0f"), ("area_um2", ",.0f"))),
                              ("work_ppl", "Work against perplexity change",
                               (("ppl_change_pct", "+.2f"), ("exec_pct", ".1f")))):
        f = fronts[name]
        if "missing" in f:
            out += [f"{title}: not drawn ({f['missing']}).", ""]
            continue
        out += [f"{title} (`{f['plot']}`; {len(f['points'])} of {f['n_points']} distinct points on the front"
                + (f"; cycles: {f['x_source']}" if name == "area_cycles" else "") + "):", "",
                markdown_table(("point",) + tuple(c for c, _ in cols),
                               [(p["label"], *(_fmt(p[c], spec) for c, spec in cols)) for p in f["points"]]), ""]
    return "\n".join(out) + "\n"


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


def write_report(sweep, out_dir, pts, cells, records, meta):
    """Write every output; returns the report record."""
    meta = {**meta, "jobs_time": _timing(records)}
    rows = build_rows(sweep, pts, cells, records)
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
