"""energy.md: the per-action table and the validation of `energy.table.measure`."""

from __future__ import annotations

from lapa.report import markdown_table

__all__ = ["energy_markdown"]


def _g(v, d=3):
    return "-" if v is None else f"{v:.{d}g}"


def energy_markdown(t):
    hw = t["config"]["hw"]
    out = ["# Energy per action (gate-level activity)", "",
           f"Configuration: D {hw['d_model']}, dh {hw['head_dim']}, L <= {hw['max_seq_len']}, "
           f"H {hw['n_heads']} / Hkv {hw['n_kv_heads']}, PEA {hw['pea_lanes']} / PEB "
           f"{hw['peb_lanes']} lanes, MAC {hw['mac_rows']}x{hw['mac_cols']}, A.V {hw['av_lanes']}; "
           f"clock {t['clock_ns']:g} ns; liberty `{t['liberty']}`.", "",
           f"Stimulus: {t['stimulus']}.", "", f"Method: {t['method']}.", ""]
    rows = []
    for g, e in sorted(t["blocks"].items(), key=lambda kv: (kv[1]["unit"], kv[0])):
        rows.append((g, e["unit"], e["action"], e.get("actions", "-"), _g(e.get("pj_per_action")),
                     _g(e.get("busy_pj_per_cycle")), _g(e.get("glue_pj_per_cycle")),
                     _g(e["idle_pj_per_cycle"]), _g(e["leakage_pj_per_cycle"])))
    out.append(markdown_table(("block", "unit", "action", "actions (calibration jobs)",
                               "pJ / action", "busy pJ / job cycle", "glue pJ / cycle",
                               "idle pJ / cycle", "leakage pJ / cycle"), rows))
    cal = ", ".join(t.get("calibration_jobs", ["job1"]))
    out += ["", "Idle: dynamic energy per cycle with nothing to do (clock and flip-flops: the "
            "design has no clock gating). pJ / action and busy pJ / job cycle: the jobs' dynamic "
            f"energy above idle, fitted (non-negative least squares over {cal}) as a part per "
            "action and a part per cycle of a job. Glue: instances that are no block's, per "
            "cycle of the job.", ""]
    rows = [(p, s["width"], s["depth"], _g(s["read_pj"]), _g(s["write_pj"]), _g(s["leakage_uw"]))
            for p, s in sorted(t["srams"].items())]
    out += ["## SRAM macros (CACTI)", "", markdown_table(
        ("macro", "width", "depth", "read pJ", "write pJ", "leakage uW"), rows), ""]
    for tag, v in t.get("validation", {}).items():
        out += [f"## Validation ({tag}: L {v['work']['L']}, {v['cycles']:.0f} cycles)", "",
                f"Whole accelerator (logic, gate-level): measured {v['measured_pj'] / 1e6:.4g} uJ, "
                f"per-action model {v['predicted_pj'] / 1e6:.4g} uJ, error {100 * v['error']:+.1f} %. "
                f"Above idle and leakage (the activity-dependent part): measured "
                f"{v['active_measured_pj'] / 1e6:.4g} uJ, model {v['active_predicted_pj'] / 1e6:.4g} uJ"
                + (f", error {100 * v['active_error']:+.1f} %." if v.get('active_error') is not None else "."),
                "", markdown_table(("unit", "measured uJ", "model uJ", "error"), [
                    (u, _g(r["measured_pj"] / 1e6, 4), _g(r["predicted_pj"] / 1e6, 4),
                     f"{100 * (r['predicted_pj'] / r['measured_pj'] - 1):+.1f} %"
                     if r["measured_pj"] else "-") for u, r in v["by_unit"].items()]), ""]
    return "\n".join(out)
