"""`build.py formal`: run the catalog's proofs and write report.md + report.json.

Each row: the proof, its family, what it states, mode (prove = k-induction, bmc = bounded),
depth, engine, the verdict sby gave, the verdict expected (a mutant must FAIL), wall time. The
time is wall-clock on the machine that ran it (the JSON records the load average too).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time

from lapa.report import markdown_table, write_json, write_text_atomic

from .sby import run_proof

__all__ = ["run_catalog", "write_report"]


def run_catalog(proofs, root="build/formal", progress=print, timeout=None, solver=None):
    results = []
    for n, proof in enumerate(proofs):
        if solver:
            proof = dataclasses.replace(proof, solver=solver)
        r = run_proof(proof, root=root, timeout=timeout)
        results.append(r)
        mark = "ok" if r.ok else "UNEXPECTED"
        progress(f"[formal {n + 1}/{len(proofs)}] {proof.name}: {r.status} "
                 f"(expected {proof.expect}, {proof.mode} depth {proof.depth}, {r.seconds:.1f} s) {mark}"
                 + (f"; failed: {', '.join(r.failed)}" if r.failed and not r.ok else ""))
    return results


def record(results):
    return {
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
                 "loadavg": list(os.getloadavg())},
        "proofs": [{"name": r.proof.name, "family": r.proof.family, "what": r.proof.what,
                    "mode": r.proof.mode, "depth": r.proof.depth, "engine": r.proof.engine,
                    "expect": r.proof.expect, "status": r.status, "ok": r.ok,
                    "seconds": round(r.seconds, 2), "slow": r.proof.slow, "failed": r.failed}
                   for r in results],
        "all_ok": all(r.ok for r in results),
    }


def write_report(results, out_dir, not_proven=None, keep=False, order=None, assumed=None):
    """`keep`: rows of an earlier report.json in `out_dir` for proofs not run now stay (in
    `order`, the catalog's names), so a report can be completed proof by proof. `assumed`:
    {proof: the fact of reachable states it assumes and why it is not proved}."""
    rec = record(results)
    rec["not_proven"] = dict(not_proven or {})
    rec["assumed"] = dict(assumed or {})
    old = os.path.join(out_dir, "report.json")
    if keep and os.path.exists(old):
        import json

        with open(old) as f:
            earlier = {p["name"]: p for p in json.load(f).get("proofs", [])}
        now = {p["name"]: p for p in rec["proofs"]}
        names = [n for n in (order or []) if n in now or n in earlier]
        names += [n for n in now if n not in names]
        rec["proofs"] = [now.get(n) or earlier[n] for n in names]
        rec["all_ok"] = all(p["ok"] for p in rec["proofs"])
    label = {"prove": "k-induction", "bmc": "bmc", "cover": "cover"}
    rows = [(p["name"], p["family"], p["what"], label.get(p["mode"], p["mode"]),
             p["depth"], p["engine"], p["status"] + ("" if p["ok"] else f" (expected {p['expect']})"),
             f"{p['seconds']:.1f}") for p in rec["proofs"]]
    text = "\n".join([
        "# Formal proofs (SymbiYosys)", "",
        f"{sum(p['ok'] for p in rec['proofs'])} of {len(rec['proofs'])} verdicts as expected "
        f"({sum(not p['slow'] for p in rec['proofs'])} quick proofs, in the default tests); "
        "a mutant (a deliberately broken block) must FAIL. Mode k-induction: depth = induction "
        "length, the property holds in every reachable state; bmc: holds in every run of that many "
        "cycles from reset; cover: the events a bmc proof relies on are reached within its depth. Time: wall clock, load average "
        f"{rec['host']['loadavg'][0]:.1f} on {rec['host']['cpus']} CPUs, {time.strftime('%Y-%m-%d')}.", "",
        markdown_table(["proof", "family", "property", "mode", "depth", "engine", "verdict", "s"], rows), "",
    ] + (["## Not proved", "", *[f"- `{k}`: {v}" for k, v in rec["not_proven"].items()], ""]
         if rec["not_proven"] else [])
      + (["## Assumed, not proved", "", *[f"- `{k}`: {v}" for k, v in rec["assumed"].items()], ""]
         if rec["assumed"] else []))
    os.makedirs(out_dir, exist_ok=True)
    write_text_atomic(os.path.join(out_dir, "report.md"), text)
    write_json(os.path.join(out_dir, "report.json"), rec)
    return rec
