"""Static timing of a mapped netlist: OpenSTA with `constraints/lapa.sdc`, or a labelled fallback.

Fmax = 1 / (period - worst slack): the clock at which the worst path would just meet timing.
Without OpenSTA the report falls back to Yosys's `ltp -noff` (cells on the longest
register-to-register path), which has no delays, so no frequency is claimed.
"""

from __future__ import annotations

import os
import re
import string
import subprocess
import time

from lapa.errors import UserError

from .asic import LIB_NAME, NETLIST
from .tools import CONSTRAINTS, find_tool, run_tool

__all__ = ["sta_engine", "sdc_text", "has_clock", "run_sta", "parse_report_checks", "fmax_mhz"]


def sta_engine():
    """(path, version) of OpenSTA, or (None, None) when it is not installed."""
    path = find_tool("sta")
    if path is None:
        return None, None
    out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=60)
    return path, (out.stdout or out.stderr).strip() or "unknown"


def has_clock(verilog, top):
    """Whether module `top` has a `clk` input (otherwise the clock is virtual)."""
    body = re.search(rf"module\s+\\?{re.escape(top)}\s*\((.*?)endmodule", verilog, re.S)
    return bool(body and re.search(r"^\s*input\s+(wire\s+)?clk\s*;", body.group(1), re.M))


def sdc_text(period_ns, clocked, driving_cell, load_pf, io_delay_ns=0.0):
    """`constraints/lapa.sdc` with its fields filled."""
    with open(os.path.join(CONSTRAINTS, "lapa.sdc")) as f:
        template = string.Template(f.read())
    return template.substitute(
        period_ns=f"{period_ns:g}", io_delay_ns=f"{io_delay_ns:g}",
        clock_port="[get_ports clk]" if clocked else "",
        data_inputs="[delete_from_list [all_inputs] [get_ports clk]]" if clocked
        else "[all_inputs]",
        driving_cell=driving_cell, load_pf=f"{load_pf:g}")


def run_sta(sta, run_dir, top, sdc, period_ns):
    """OpenSTA on `run_dir/netlist.v`; the worst setup path and the frequency it allows."""
    with open(os.path.join(run_dir, "lapa.sdc"), "w") as f:
        f.write(sdc)
    # OpenSTA reads no instance parameters: each SRAM shape becomes its own black box
    # (unlinked, so paths into and out of the buffers are not timed).
    with open(os.path.join(run_dir, NETLIST)) as f:
        netlist = re.sub(r"\bLAPA_SRAM\s*#\(((?:[^()]|\([^()]*\))*)\)", _sram_type, f.read())
    with open(os.path.join(run_dir, "netlist_sta.v"), "w") as f:
        f.write(netlist)
    script = "\n".join([f"read_liberty {LIB_NAME}", "read_verilog netlist_sta.v",
                        f"link_design {top}", "read_sdc lapa.sdc",
                        "report_checks -path_delay max -digits 3", "report_tns -digits 3",
                        "exit"]) + "\n"
    with open(os.path.join(run_dir, "sta.tcl"), "w") as f:
        f.write(script)
    t0 = time.perf_counter()
    log = run_tool([sta, "-no_splash", "-exit", "sta.tcl"], run_dir, "sta.log")
    with open(log) as f:
        timing = parse_report_checks(f.read(), period_ns)
    timing["sta_s"] = round(time.perf_counter() - t0, 2)
    return timing


def _sram_type(match):
    values = re.findall(r"\.(\w+)\(\d+'d(\d+)\)", match.group(1))
    return "LAPA_SRAM_" + "_".join(f"{k}{v}" for k, v in values)


def parse_report_checks(text, period_ns):
    """Worst path of an OpenSTA `report_checks` text: start, end, arrival, slack, Fmax."""
    if re.search(r"^Error", text, re.M):
        raise UserError("OpenSTA reported an error:\n" + "\n".join(
            ln for ln in text.splitlines() if ln.startswith("Error")))
    slack = re.search(r"^\s*(-?[0-9.]+)\s+slack\s+\((MET|VIOLATED)\)", text, re.M)
    if not slack:
        return {"engine": "opensta", "period_ns": period_ns, "paths": 0, "slack_ns": None,
                "fmax_mhz": None}
    arrival = re.search(r"^\s*(-?[0-9.]+)\s+data arrival time", text, re.M)
    tns = re.search(r"^tns\s+(-?[0-9.]+)", text, re.M)
    s = float(slack.group(1))
    return {"engine": "opensta", "period_ns": period_ns, "paths": 1,
            "startpoint": re.search(r"^Startpoint:\s*(.*)$", text, re.M).group(1).strip(),
            "endpoint": re.search(r"^Endpoint:\s*(.*)$", text, re.M).group(1).strip(),
            "arrival_ns": float(arrival.group(1)) if arrival else None,
            "slack_ns": s, "met": slack.group(2) == "MET",
            "tns_ns": float(tns.group(1)) if tns else None,
            "fmax_mhz": fmax_mhz(period_ns, s)}


def fmax_mhz(period_ns, slack_ns):
    """1 / (period - slack) in MHz, or None when the path has no delay."""
    delay = period_ns - slack_ns
    return round(1000.0 / delay, 2) if delay > 0 else None
