"""`build.py compare`: every design on the same layer; the record, compare.md, compare.json and
plots (`lapa/commands/compare.py` parses the options)."""

from __future__ import annotations

import dataclasses
import json
import os

from lapa.errors import UserError
from perf import MODEL_ERROR

from .layer import layer_energy, layer_work, model_cycles

__all__ = ["compare", "write_compare", "SCHEMA"]

SCHEMA = "lapa-compare/1"
NOT_BUILT = "not built: its hardware does not exist yet (issue 14)"
UNITS = ("speculation", "execution", "memory", "control")


def _truncate(inputs, L):
    return inputs._replace(x=inputs.x[:L])


def _area(synth, speculation):
    """(logic um^2, SRAM um^2, Fmax MHz, source) of a design from a synthesis report."""
    if synth is None:
        return None, None, None, "no synthesis report given (--synth)"
    units = [u for u in ("speculation", "execution", "control") if u in synth["units"]
             and (speculation or u != "speculation")]
    total = sum(synth["units"][u]["area_um2"] for u in units)
    sram = sum(synth["units"][u]["sram_area_um2"] for u in units)
    fmax = [b["timing"]["fmax_mhz"] for b in synth["blocks"].values()
            if b["timing"].get("fmax_mhz") and (speculation or b["unit"] != "speculation")]
    return total - sram, sram, min(fmax) if fmax else None, \
        f"build.py synth report (units {', '.join(units)})"


# measured instance (a child of the small top) -> block of the target synthesis report whose
# size scales the table's per-cycle energies of that part; the rest (fetcher, FIFOs) unscaled
_SCALED = {"spec": "speculation", "exec": "execution", "results": "results", "bank": "regbank"}
_GROUP_PART = {"glue:speculation": "spec", "glue:execution": "exec", "glue:control": "bank"}


def _area_scale(table, synth):
    """{table block group: target size / measured size} for the per-cycle energies (idle, busy,
    glue, leakage), or None without a target report. The size is the flip-flop (sequential)
    area where both records have it, the idle energy being mostly clock and flip-flop energy
    (no clock gating), else the logic area (SRAM macros out); `_scale_basis` says which."""
    if synth is None:
        return None
    sub = table.get("synthesis", {}).get("submodules", {})
    basis = _scale_basis(table, synth)
    ratio = {}
    for part, block in _SCALED.items():
        b, m = synth["blocks"].get(block), sub.get(part)
        if not b or not m:
            continue
        if basis == "sequential":
            tgt, meas = b["sequential_area_um2"], m["sequential_area_um2"]
        else:
            tgt = b["area_um2"] - b["sram_area_um2"]
            meas = m["area_um2"] - sum(s["area_um2"] for path, s in table.get("srams", {}).items()
                                       if path.startswith(part + "/"))
        if meas > 0:
            ratio[part] = tgt / meas
    out = {}
    for g in table["blocks"]:
        part = _GROUP_PART.get(g, g.split("/")[0])
        if part in ratio:
            out[g] = ratio[part]
    return out or None


def _scale_basis(table, synth):
    sub = table.get("synthesis", {}).get("submodules", {})
    ok = all("sequential_area_um2" in sub.get(p, {}) for p in _SCALED if p in sub)
    return "sequential" if ok and synth else "logic"


_UNIT_PREFIX = {"speculation": "spec/", "execution": "exec/", "results": "results/"}


def _sram_target(table, synth):
    """{measured SRAM path: the same buffer's CACTI figures in the target report}: matched by
    the unit and the macro's instance name (unique names only)."""
    if synth is None:
        return None
    out = {}
    for block, prefix in _UNIT_PREFIX.items():
        b = synth["blocks"].get(block)
        if not b:
            continue
        by_name = {}
        for s in b.get("srams", []):
            by_name.setdefault(s["path"].rsplit(".", 1)[-1], []).append(s)
        for path in table["srams"]:
            if path.startswith(prefix):
                found = by_name.get(path.rsplit("/", 1)[-1], [])
                if len(found) == 1:
                    out[path] = {**found[0], "unit": table["srams"][path]["unit"]}
    return out


def _ppl(evalrep, predictor, ctx=None, margin_nats=8.0, round_bits=None, w_lo=None):
    """(PPL change, source line) of `predictor` in an eval report, or (None, why not).

    lapa and symlo have one result per speculation setting: the one taken is the margin rule
    at `margin_nats` in every round with the layer's `round_bits` (and weight LO `w_lo` =
    (mode, mantissa bits) when given), never another setting's (the report holds both 4 + 4
    and 6 + 2 bit rounds at one delta, whose PPL differs by up to 5 points). Results of more
    than one context length need `ctx`."""
    if evalrep is None:
        return None, None
    recs = [r for r in evalrep["results"] if r["predictor"] == predictor
            and (ctx is None or r["ctx"] == ctx)]
    want = None
    if predictor in ("lapa", "symlo"):
        bits = tuple(round_bits or (4, 4))
        want = (f"margin delta={margin_nats:g} bits={','.join(map(str, bits))}"
                + (f" lo={w_lo[0]}/m{w_lo[1]}" if w_lo else ""))

        def same(r):
            st = r.get("setting") or {}
            return (st.get("ddf_mode") == "margin"
                    and st.get("margin_nats") == [margin_nats] * len(bits)
                    and tuple(st.get("round_bits") or ()) == bits
                    and (w_lo is None or (st.get("w_lo_mode"), st.get("w_lo_mant_bits")) == tuple(w_lo)))
        recs = [r for r in recs if same(r)]
    if not recs:
        return None, (f"no {predictor} result" + (f" with {want}" if want else "")
                      + (f" at ctx {ctx}" if ctx is not None else "") + " in the eval report")
    ctxs = sorted({r["ctx"] for r in recs})
    if len(ctxs) > 1:
        raise UserError(f"the eval report has {predictor} results at ctx "
                        f"{', '.join(map(str, ctxs))}: choose one with --eval-ctx")
    r = recs[0]
    return r["ppl_change"], f"ctx {r['ctx']}, {r.get('label')}"


def compare(predictors, inputs, lengths, table, synth, evalrep, source, progress=print,
            margin_nats=8.0, round_bits=None, eval_ctx=None):
    from golden.model import run_layer
    from lapa.config import HardwareConfig

    hw = HardwareConfig(**{k: v for k, v in synth["config"]["hw"].items()
                           if k in {f.name for f in dataclasses.fields(HardwareConfig)}}) \
        if synth else HardwareConfig()
    if inputs is not None:
        L, D, dh, H, Hkv = inputs.shape
        if (D, dh) != (hw.d_model, hw.head_dim) or H > hw.n_heads or Hkv > hw.n_kv_heads:
            raise UserError(f"the layer (D {D}, dh {dh}, H {H}, Hkv {Hkv}) does not fit the "
                            f"target hardware (D {hw.d_model}, dh {hw.head_dim}, H {hw.n_heads}, "
                            f"Hkv {hw.n_kv_heads})")
    scale = _area_scale(table, synth) if table else None
    srams = _sram_target(table, synth) if table else None
    designs = {}
    for p in predictors:
        entry = {"predictor": p}
        w_lo = (inputs.arith.w_lo_mode, inputs.arith.w_lo_mant_bits) if inputs is not None else None
        bits = round_bits or (tuple(inputs.arith.round_bits) if inputs is not None else None)
        entry["ppl_change"], entry["ppl_source"] = _ppl(evalrep, p, ctx=eval_ctx,
                                                        margin_nats=margin_nats,
                                                        round_bits=bits, w_lo=w_lo)
        if p not in ("lapa", "dense"):
            entry["status"] = NOT_BUILT
            designs[p] = entry
            continue
        spec = p == "lapa"
        logic, sram, fmax, asrc = _area(synth, spec)
        entry.update(status="built", logic_area_um2=logic, sram_area_um2=sram,
                     area_um2=None if logic is None else logic + sram, fmax_mhz=fmax,
                     area_source=asrc, by_seq_len={})
        for L in lengths:
            progress(f"compare: {p} at L = {L} (golden model)")
            inp = _truncate(inputs, L)
            arith = dataclasses.replace(inp.arith, predictor="dense") if p == "dense" else inp.arith
            gold = run_layer(inp.x, inp.wq, inp.wk, inp.wv, arith)
            w = layer_work(inp, gold, p)
            cycles, cyc_source = model_cycles(inp._replace(arith=arith), gold, hw)
            e = layer_energy(table, w, hw, scale, srams, speculation=spec, cycles=cycles, cycles_source=cyc_source)
            delay_s = e["cycles"] * table["clock_ns"] * 1e-9
            entry["by_seq_len"][str(L)] = {
                "cycles": round(e["cycles"]), "cycles_source": e["cycles_source"],
                "energy_pj": e["total_pj"], "split_pj": e["split_pj"],
                "active_split_pj": e["active_split_pj"], "sram_pj": e["sram_pj"],
                "area_scaled": e["area_scaled"],
                "offchip_pj": e["offchip_pj"], "edp_pj_s": e["total_pj"] * delay_s,
                "clock_gated_estimate_pj": e["clock_gated_estimate_pj"],
                "work": w, "parts_pj": e["parts_pj"]}
        if lengths:
            last = entry["by_seq_len"][str(lengths[-1])]
            entry.update(cycles=last["cycles"], energy_pj=last["energy_pj"], split=last["split_pj"])
        designs[p] = entry
    if "dense" in designs and designs["dense"].get("status") == "built":
        d = designs["dense"]
        for p, e in designs.items():
            if e.get("status") != "built":
                continue
            e["ratio_to_dense"] = {}
            for L, rec in e["by_seq_len"].items():
                dr = d["by_seq_len"][L]
                e["ratio_to_dense"][L] = {k: rec[k] / dr[k] for k in ("cycles", "energy_pj", "edp_pj_s",
                                                                      "clock_gated_estimate_pj")
                                          if dr.get(k) and rec.get(k) is not None}
            if e.get("area_um2") and d.get("area_um2"):
                e["area_ratio_to_dense"] = e["area_um2"] / d["area_um2"]
    share = None
    if "lapa" in designs and designs["lapa"].get("status") == "built" and lengths:
        s = designs["lapa"]["split"]
        core = s["speculation"] + s["execution"]
        share = {"energy_speculation_pct_of_spec_plus_exec": 100 * s["speculation"] / core,
                 "energy_speculation_pct_of_total": 100 * s["speculation"] / sum(s.values()),
                 "paper_power_pct": 46.0, "paper_area_pct": 52.0}
        if synth and synth.get("share"):
            share["area_speculation_pct"] = synth["share"]["speculation_pct"]
    return {"schema": SCHEMA, "source": source, "seq_lens": lengths,
            "energy_method": table.get("method") if table else None,
            "energy_stimulus": table.get("stimulus") if table else None,
            "energy_table_config": table.get("config") if table else None,
            "target_hw": dataclasses.asdict(hw), "designs": designs, "speculation_share": share,
            "static_scale": scale, "static_scale_basis":
                (_scale_basis(table, synth) + " area ratio, target / measured") if scale else None}


def _fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _markdown(rec):
    out = ["# Designs side by side", ""]
    s = rec["source"]
    out.append(f"Layer: `{s['input']}`; energy table: `{s['energy_table']}` "
               f"(stimulus: {rec['energy_stimulus']}); synthesis: `{s['synth']}`; "
               f"eval: `{s['from_eval']}`.")
    out += ["", "| design | status | L | cycles | logic area um^2 | SRAM area um^2 | Fmax MHz | "
            "energy uJ | spec / exec / mem / ctrl uJ | EDP pJ s | PPL change | energy / dense | "
            "cycles / dense | EDP / dense |", "|" + "---|" * 14]
    for p, d in rec["designs"].items():
        ppl = "-" if d.get("ppl_change") is None else f"{100 * d['ppl_change']:+.2f} %"
        if d["status"] != "built":
            out.append(f"| {p} | {d['status']} | - | - | - | - | - | - | - | - | {ppl} | - | - | - |")
            continue
        for L, r in d["by_seq_len"].items():
            ratio = d.get("ratio_to_dense", {}).get(L, {})
            sp = " / ".join(_fmt(r["split_pj"][u] / 1e6) for u in UNITS)
            out.append(f"| {p} | built | {L} | {r['cycles']:,} | {_fmt(d['logic_area_um2'])} | "
                       f"{_fmt(d['sram_area_um2'])} | {_fmt(d['fmax_mhz'])} | "
                       f"{_fmt(r['energy_pj'] / 1e6)} | {sp} | {_fmt(r['edp_pj_s'])} | {ppl} | "
                       f"{_fmt(ratio.get('energy_pj'))} | {_fmt(ratio.get('cycles'))} | "
                       f"{_fmt(ratio.get('edp_pj_s'))} |")
    srcs = [f"{p}: {d['ppl_source']}" for p, d in rec["designs"].items() if d.get("ppl_source")]
    if srcs:
        out += ["", "PPL change from the eval report: " + "; ".join(srcs) + "."]
    out += ["", "Of which the actions (activity above idle; the rest is idle clock / flip-flop "
            "energy, leakage and SRAM, per cycle or access):", "",
            "| design | L | actions spec / exec / mem / ctrl uJ | SRAM uJ | static scaled to the target |",
            "|---|---|---|---|---|"]
    for p, d in rec["designs"].items():
        for L, r in d.get("by_seq_len", {}).items():
            a = " / ".join(_fmt(r["active_split_pj"][u] / 1e6) for u in UNITS)
            out.append(f"| {p} | {L} | {a} | {_fmt(r['sram_pj'] / 1e6)} | "
                       f"{'yes' if r['area_scaled'] else 'no (no --synth: the small configuration figures)'} |")
    gated = [(p, L, r) for p, d in rec["designs"].items() for L, r in d.get("by_seq_len", {}).items()
             if r.get("clock_gated_estimate_pj") is not None]
    if gated:
        from .layer import GATING_SOURCE

        out += ["", "With clock gating (an estimate, not a measurement; the measured figures above "
                f"stand): {GATING_SOURCE}.", "",
                "| design | L | energy uJ, measured model | with clock gating, estimate uJ | "
                "estimate / dense |", "|---|---|---|---|---|"]
        for p, L, r in gated:
            ratio = rec["designs"][p].get("ratio_to_dense", {}).get(L, {}).get("clock_gated_estimate_pj")
            out.append(f"| {p} | {L} | {_fmt(r['energy_pj'] / 1e6)} | "
                       f"{_fmt(r['clock_gated_estimate_pj'] / 1e6)} | {_fmt(ratio)} |")
    if rec.get("static_scale"):
        parts = {}
        for g, v in rec["static_scale"].items():
            parts.setdefault(f"{v:.3g}", []).append(g)
        out += ["", f"Per-cycle energies scaled to the target by the {rec['static_scale_basis']}: "
                + "; ".join(f"x{v} ({', '.join(sorted(gs))})" for v, gs in parts.items())
                + "; the other parts unscaled."]
    sh = rec.get("speculation_share")
    if sh:
        out += ["", f"Speculation share of LAPA's on-chip energy: "
                f"{sh['energy_speculation_pct_of_spec_plus_exec']:.1f} % of speculation + execution, "
                f"{sh['energy_speculation_pct_of_total']:.1f} % of the total (paper: 46 % of power); "
                f"of area: {_fmt(sh.get('area_speculation_pct'))} % (paper: 52 %)."]
    out += ["", "Energy per layer = actions x energy per action (gate-level, small configuration, "
            "per elementary operation) + SRAM accesses x CACTI energy + (idle + leakage) x cycles; "
            "off-chip traffic apart (`offchip_pj` in compare.json). Cycles: the perf cycle model "
            f"({MODEL_ERROR}). dense = LAPA's execution unit with every pair kept "
            "and no speculation unit.", ""]
    return "\n".join(out)


def _plots(rec, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    built = {p: d for p, d in rec["designs"].items() if d["status"] == "built"}
    paths = {}
    if not built or not rec["seq_lens"]:
        return paths
    L = str(rec["seq_lens"][-1])
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    bottom = [0.0] * len(built)
    for u in UNITS:
        vals = [d["by_seq_len"][L]["split_pj"][u] / 1e6 for d in built.values()]
        ax.bar(list(built), vals, bottom=bottom, label=u)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel(f"energy per layer (uJ), L = {L}")
    ax.legend()
    paths["breakdown"] = os.path.join(out_dir, "energy_breakdown.png")
    fig.savefig(paths["breakdown"], dpi=120)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    shown = 0
    for p, d in built.items():
        if d.get("ppl_change") is not None:
            ax.scatter([100 * d["ppl_change"]], [d["by_seq_len"][L]["energy_pj"] / 1e6], label=p)
            shown += 1
    ax.set_xlabel("PPL change (%)")
    ax.set_ylabel(f"energy per layer (uJ), L = {L}")
    if shown:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no PPL figures (give --from-eval)", ha="center", transform=ax.transAxes)
    paths["energy_ppl"] = os.path.join(out_dir, "energy_vs_ppl.png")
    fig.savefig(paths["energy_ppl"], dpi=120)
    fig = Figure(figsize=(9, 4))
    a1, a2 = fig.subplots(1, 2)
    for p, d in built.items():
        xs = [int(k) for k in d["by_seq_len"]]
        a1.plot(xs, [r["cycles"] for r in d["by_seq_len"].values()], marker="o", label=p)
        a2.plot(xs, [r["energy_pj"] / 1e6 for r in d["by_seq_len"].values()], marker="o", label=p)
    a1.set_xlabel("L")
    a1.set_ylabel("cycles")
    a2.set_xlabel("L")
    a2.set_ylabel("energy per layer (uJ)")
    a1.legend()
    paths["seq_len"] = os.path.join(out_dir, "cycles_energy_vs_len.png")
    fig.savefig(paths["seq_len"], dpi=120)
    return paths


def write_compare(rec, out_dir):
    from lapa.report import write_text_atomic

    os.makedirs(out_dir, exist_ok=True)
    md = os.path.join(out_dir, "compare.md")
    js = os.path.join(out_dir, "compare.json")
    write_text_atomic(js, json.dumps(rec, indent=1, default=float) + "\n")
    write_text_atomic(md, _markdown(rec))
    return {"md": md, "json": js, **_plots(rec, out_dir)}
