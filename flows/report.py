"""`report.md` (tables a person reads), `report.json` (the same numbers, stable keys) and
`area.png` (a bar chart per block, coloured by unit), written atomically."""

from __future__ import annotations

import io
import os

from lapa.report import markdown_table, write_json, write_text_atomic

__all__ = ["write_reports", "markdown"]

_UNIT_COLOURS = {"speculation": "#4477aa", "execution": "#ee6677", "control": "#999933", "system": "#666666"}


def write_reports(record, out_dir):
    """Write the three files; returns their paths."""
    paths = {"json": os.path.join(out_dir, "report.json"),
             "md": os.path.join(out_dir, "report.md"),
             "png": os.path.join(out_dir, "area.png")}
    write_json(paths["json"], record)
    write_text_atomic(paths["md"], markdown(record))
    _write_chart(record, paths["png"])
    return paths


def _fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}"


def markdown(r):
    hw = r["config"]["hw"]
    shape = ", ".join(f"{k}={v}" for k, v in hw.items())
    lines = [f"# LAPA synthesis report: {r['target'].upper()}", "",
             f"Configuration: {shape}.", "",
             f"Clock constraint {r['clock_ns']:g} ns; flow wall time {r['wall_s']:.1f} s; "
             f"tools: {', '.join(f'{k} = {v}' for k, v in r['tools'].items() if v)}.", ""]
    lines += _asic_md(r) if r["target"] == "asic" else _ecp5_md(r)
    s = r["share"]
    lines += ["", "## Speculation vs execution", ""]
    if s:
        lines.append(f"Speculation {s['speculation_pct']:.1f} %, execution "
                     f"{s['execution_pct']:.1f} % (of their summed {s['measure']}; the paper "
                     "reports 52 % / 48 %).")
    else:
        lines.append("Not available: both units must be synthesized.")
    lines += _prediction_md(r.get("prediction_share"), r["target"])
    return "\n".join(lines) + "\n"


def _prediction_md(p, target):
    """The prediction hardware's share (`flows.flow.prediction_share`)."""
    out = ["", "## Prediction hardware", ""]
    if p is None:
        out.append("Not available: " + ("the ASIC flow only." if target != "asic" else
                   "the speculation, execution and control units (or the top block) must be synthesized."))
        return out
    out.append(f"Predictor `{p['predictor']}` in the slot (instance `spec`; {p['source']}): "
               f"{_fmt(p['area_pct'], 2)} % of the accelerator's area.")
    out += ["", markdown_table(
        ("", "prediction (spec) um^2", "accelerator um^2", "share %"),
        [("logic", _fmt(p["spec_logic_um2"]), _fmt(p["accelerator_logic_um2"]), _fmt(p["logic_pct"], 2)),
         ("SRAM (CACTI)", _fmt(p["spec_sram_um2"]), _fmt(p["accelerator_sram_um2"]), _fmt(p["sram_pct"], 2)),
         ("$mul (pre-map)", p["spec_mul_cells"], p["accelerator_mul_cells"], "")])]
    return out


def _asic_md(r):
    t = r["timing"]
    out = [f"Liberty `{os.path.basename(r['liberty'])}`, inputs driven by "
           f"{r['tech']['driving_cell']}, outputs loaded with {r['tech']['load_pf']:g} pF. "
           f"Memories with a write port and >= {r['sram_min_bits']} bits are SRAM macros, "
           f"their area from {r['tech']['sram_source']} (included in the area; see the SRAM "
           "table), not timed; ROMs and smaller memories are logic.", "",
           "## Area per block", ""]
    rows = []
    for name, b in r["blocks"].items():
        bt = b["timing"]
        rows.append((name, b["unit"], _fmt(b["area_um2"]), _fmt(b["sequential_area_um2"]),
                     _fmt(b["cells"]), b["mul_cells"], _fmt(b["memory_bits"]),
                     _fmt(b["sram_bits"]), _fmt(b["sram_area_um2"]),
                     _fmt(bt.get("slack_ns"), 3), _fmt(bt.get("fmax_mhz"), 1),
                     _fmt(b["logic_depth"])))
    out.append(markdown_table(("block", "unit", "area um^2", "sequential um^2", "cells",
                               "$mul (pre-map)", "memory bits", "SRAM bits", "SRAM um^2 (CACTI)",
                               "slack ns", "Fmax MHz",
                               "logic depth"), rows))
    for name, b in r["blocks"].items():
        if b["submodules"]:
            out += ["", f"### Inside `{name}`", "", markdown_table(
                ("submodule", "instances", "area um^2", "cells", "$mul"),
                [(s, v["instances"], _fmt(v["area_um2"]), _fmt(v["cells"]), v["mul_cells"])
                 for s, v in sorted(b["submodules"].items(),
                                    key=lambda kv: -kv[1]["area_um2"])])]
    out += ["", "## Area per unit", "", markdown_table(
        ("unit", "area um^2", "of which SRAM (CACTI)", "from"),
        [(u, _fmt(v["area_um2"]), _fmt(v["sram_area_um2"]),
          f"{v['source']}: {', '.join(v['blocks'])}")
         for u, v in r["units"].items()])]
    srams = [(name, s) for name, b in r["blocks"].items() for s in b.get("srams", [])]
    if srams:
        out += ["", "## SRAM macros (CACTI 7, 180 nm)", "",
                f"Source: {r['tech']['sram_source']}. Energies per access of one word; a "
                "macro below CACTI's smallest array is modelled as the next shape it can "
                "build (`modelled as`), area and leakage scaled by the bit ratio.", "",
                markdown_table(("block", "macro", "width x depth", "ports (R/W)", "area um^2",
                                "um^2/bit", "read pJ", "write pJ", "leakage uW", "access ns",
                                "modelled as"),
                               [(n, s["path"], f"{s['width']} x {s['depth']}",
                                 f"{s['rd_ports']}/{s['wr_ports']}", _fmt(s["area_um2"]),
                                 _fmt(s["area_um2"] / (s["width"] * s["depth"]), 2),
                                 _fmt(s["read_pj"], 2), _fmt(s["write_pj"], 2),
                                 _fmt(s["leakage_uw"], 2), _fmt(s["access_ns"], 2),
                                 f"{8 * s['modelled_as']['width_bytes']} x "
                                 f"{s['modelled_as']['depth']}") for n, s in srams])]
    out += ["", "## Timing", ""]
    if t["engine"] == "opensta":
        worst = r["blocks"].get(t["worst_block"], {}).get("timing", {})
        out.append(f"OpenSTA: the slowest block is `{t['worst_block']}`, Fmax "
                   f"{_fmt(t['fmax_mhz'], 1)} MHz (1 / (period - slack)); worst path "
                   f"{worst.get('startpoint', '-')} -> {worst.get('endpoint', '-')}, "
                   f"arrival {_fmt(worst.get('arrival_ns'), 3)} ns, slack "
                   f"{_fmt(worst.get('slack_ns'), 3)} ns."
                   if t["worst_block"] else "OpenSTA found no constrained path.")
    else:
        out.append("**Fallback**: OpenSTA was not found; the logic depth column is Yosys "
                   "`ltp -noff` (cells on the longest path), not a delay. No frequency.")
    return out


def _ecp5_md(r):
    t = r["timing"]
    rows = [(n, b["unit"], _fmt(b["lut4"]), _fmt(b["carry"]), _fmt(b["ff"]), _fmt(b["dsp"]),
             _fmt(b["bram"]), _fmt(b["lutram"]), _fmt(b.get("fmax_mhz"), 1),
             b.get("pnr_error", "ok")) for n, b in r["blocks"].items()]
    out = [f"Device LFE5U-{r['device'].upper()} (out of context).", "",
           "## Resources per block (Yosys synth_ecp5) and nextpnr Fmax", "",
           markdown_table(("block", "unit", "LUT4", "CCU2C", "FF", "DSP (MULT18X18D)",
                           "BRAM (DP16KD)", "LUTRAM", "Fmax MHz", "place-and-route"), rows)]
    for n, b in r["blocks"].items():
        if b.get("utilization"):
            out += ["", f"nextpnr utilization of `{n}`: " + ", ".join(
                f"{k} {v['used']}/{v['available']}" for k, v in b["utilization"].items())]
    out += ["", "## LUT4 per unit", "", markdown_table(
        ("unit", "LUT4", "from"),
        [(u, _fmt(v["lut4"]), f"{v['source']}: {', '.join(v['blocks'])}")
         for u, v in r["units"].items()])]
    out += ["", f"Slowest block `{t['worst_block']}`: {_fmt(t['fmax_mhz'], 1)} MHz."
            if t["worst_block"] else "", ]
    return out


def _write_chart(r, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    key, unit_label = ("area_um2", "area (um^2)") if r["target"] == "asic" else ("lut4", "LUT4")
    bars = []  # (label, value, unit)
    for name, b in r["blocks"].items():
        if b.get("submodules"):
            bars += [(f"{name}/{s}", v["area_um2"], b["unit"]) for s, v in b["submodules"].items()]
            rest = b[key] - sum(v["area_um2"] for v in b["submodules"].values())
            bars.append((f"{name} (own logic)", rest, b["unit"]))
        else:
            bars.append((name, b[key], b["unit"]))
    fig = Figure(figsize=(8, 0.4 * len(bars) + 1.5))
    ax = fig.subplots()
    ax.barh([b[0] for b in bars], [b[1] for b in bars],
            color=[_UNIT_COLOURS.get(b[2], "#777777") for b in bars])
    ax.invert_yaxis()
    ax.set_xlabel(unit_label)
    ax.set_title(f"LAPA {r['target'].upper()}: {unit_label} per block")
    for unit, colour in _UNIT_COLOURS.items():
        ax.bar(0, 0, color=colour, label=unit)
    ax.legend(loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
