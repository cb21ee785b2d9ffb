"""Power of a mapped netlist from simulated activity: OpenSTA `report_power` with every pin's
activity set from the toggle counts of a gate-level VCD (`energy.vcd`).

OpenSTA 2.0.17 (Debian): `set_power_activity -pins` is broken (its loop reads an unset
variable), so each pin gets `sta::set_power_pin_activity PIN ACTIVITY DUTY`, ACTIVITY in
transitions per clock period (the unit of `-global`; checked: 0.1 on every pin gives the power
of `-global -activity 0.1` within the clock pins' share). Every pin of the design is set, the
hierarchical ones included: left to OpenSTA's own propagation, this design crashes it (a
segmentation fault in the activity propagation of the speculation unit, size dependent).
SRAM macros are black boxes here; their energy comes from CACTI per access (`energy.table`).

`hier_power` returns the internal, switching and leakage power (W) of every hierarchical
instance (`spec`, `spec/pea`, ...) and of the whole design (''), from one OpenSTA run.
"""

from __future__ import annotations

import os
import re

from lapa.errors import UserError

from flows.asic import LIB_NAME, NETLIST
from flows.sta import sdc_text
from flows.tools import find_tool, run_tool

__all__ = ["pin_activity_lines", "port_activity_lines", "hier_power", "sta_netlist"]


def sta_netlist(run_dir):
    """netlist_sta.v (each SRAM shape its own black box type, as `flows.sta.run_sta` does)."""
    from flows.sta import _sram_type

    with open(os.path.join(run_dir, NETLIST)) as f:
        text = re.sub(r"\bLAPA_SRAM\s*#\(((?:[^()]|\([^()]*\))*)\)", _sram_type, f.read())
    with open(os.path.join(run_dir, "netlist_sta.v"), "w") as f:
        f.write(text)
    return text


def pin_activity_lines(pins, activity, cycles, missing=None):
    """Tcl lines `PIN ACTIVITY DUTY` for every pin of `pins` (`energy.netlist.cell_pins`): the
    toggles of its net bit per clock cycle and the fraction of time it is high. A pin on a
    constant gets 0 / its value's duty 0; a net the VCD does not have is counted in
    `missing` (a list) and set to 0."""
    out = []
    span = activity.span or 1
    for path, _cell, conns in pins:
        for pin, net in conns.items():
            act = duty = 0.0
            if net is not None:
                scope, name, bit = net
                key = f"{scope}.{name}"
                tog = activity.toggles.get(key)
                if tog is None:
                    key = f"{scope}.\\{name}"
                    tog = activity.toggles.get(key)
                if tog is None or bit >= len(tog):
                    if missing is not None:
                        missing.append(key)
                else:
                    act = tog[bit] / cycles
                    duty = min(1.0, activity.high[key][bit] / span)
            out.append(f"{{{path}/{pin}}} {act:.6g} {duty:.4g}")
    return out


def port_activity_lines(netlist_text, top, activity, cycles, scope="top"):
    """Tcl lines `PORT ACTIVITY DUTY` for every input port bit of module `top` (its VCD scope
    `scope`). OpenSTA takes a load pin's activity from the pin driving its net, so a cell input
    on a top-level port gets the port's activity, which is the default input activity (0.1
    per period) unless set: without these lines every window charges the ports' fan-out
    cone as if toggling, idle included."""
    m = re.search(rf"^module\s+{re.escape(top)}\s*\(.*?\);(.*?)^endmodule", netlist_text,
                  re.M | re.S)
    if not m:
        raise UserError(f"netlist: no module {top!r}")
    out = []
    span = activity.span or 1
    for w in re.finditer(r"^\s*input\s+(?:\[(\d+):(\d+)\]\s*)?(\S+?)\s*;", m.group(1), re.M):
        name = w.group(3).lstrip("\\")
        if name == "clk":   # the clock's activity is the clock's
            continue
        tog = activity.toggles.get(f"{scope}.{name}")
        if tog is None:
            continue
        high = activity.high[f"{scope}.{name}"]
        lo = min(int(w.group(1)), int(w.group(2))) if w.group(1) else 0
        for b, (t, h) in enumerate(zip(tog, high)):
            port = f"{name}[{b + lo}]" if w.group(1) else name
            out.append(f"{{{port}}} {t / cycles:.6g} {min(1.0, h / span):.4g}")
    return out


_TCL = """read_liberty {lib}
read_verilog netlist_sta.v
link_design {top}
read_sdc power.sdc
# every hierarchical pin first (OpenSTA's propagation would otherwise run into them), then
# the cell pins with their measured activity
foreach p [get_pins -hierarchical *] {{ sta::set_power_pin_activity $p 0.0 0.0 }}
set f [open {act}]
while {{[gets $f line] >= 0}} {{
  lassign $line name a d
  sta::set_power_pin_activity [get_pins $name] $a $d
}}
close $f
set f [open {ports}]
while {{[gets $f line] >= 0}} {{
  lassign $line name a d
  sta::set_power_input_port_activity [get_ports $name] $a $d
}}
close $f
report_power -digits 6
# OpenSTA 2.0.17 reports 0 for a hierarchical instance: every leaf instead, summed in Python
set leaf [list]
foreach c [get_cells -hierarchical *] {{
  if {{![string match "{top}.*" [get_property $c ref_name]]}} {{ lappend leaf $c }}
}}
report_power -instances $leaf -digits 6
exit
"""


def hier_power(run_dir, top, act_lines, period_ns, tech, tag, port_lines=(), leaves_out=None):
    """{instance path: {internal, switching, leakage, total} in W} ('' = the design);
    `port_lines` the input ports' activities (`port_activity_lines`); `leaves_out` (a dict)
    receives every leaf cell's record."""
    sta = find_tool("sta")
    if sta is None:
        raise UserError("OpenSTA (sta) not found: energy needs it (bash setup.sh)")
    if not os.path.exists(os.path.join(run_dir, "netlist_sta.v")):
        sta_netlist(run_dir)
    act = f"activity-{tag}.txt"
    with open(os.path.join(run_dir, act), "w") as f:
        f.write("\n".join(act_lines) + "\n")
    ports = f"ports-{tag}.txt"
    with open(os.path.join(run_dir, ports), "w") as f:
        f.write("".join(line + "\n" for line in port_lines))
    with open(os.path.join(run_dir, "power.sdc"), "w") as f:
        f.write(sdc_text(period_ns, True, tech["driving_cell"], tech["load_pf"]))
    with open(os.path.join(run_dir, f"power-{tag}.tcl"), "w") as f:
        f.write(_TCL.format(lib=LIB_NAME, top=top, act=act, ports=ports))
    log = run_tool([sta, "-no_splash", "-exit", f"power-{tag}.tcl"], run_dir, f"power-{tag}.log")
    with open(log) as f:
        leaves = parse_power(f.read())
    if leaves_out is not None:
        leaves_out.update((k, v) for k, v in leaves.items() if k)
    return roll_up(leaves)


def roll_up(leaves):
    """{hierarchical path: summed power of the leaves below it} ('' = the design, as OpenSTA
    reports it)."""
    out = {"": leaves.pop("")}
    for path, rec in leaves.items():
        parts = path.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            acc = out.setdefault("/".join(parts[:k]), dict.fromkeys(rec, 0.0))
            for key, v in rec.items():
                acc[key] += v
    return out


_ROW = re.compile(r"^\s*([0-9.eE+-]+)\s+([0-9.eE+-]+)\s+([0-9.eE+-]+)\s+([0-9.eE+-]+)\s+(\S+)\s*$")
_TOTAL = re.compile(r"^Total\s+([0-9.eE+-]+)\s+([0-9.eE+-]+)\s+([0-9.eE+-]+)\s+([0-9.eE+-]+)")


def parse_power(text):
    if re.search(r"^Error", text, re.M):
        raise UserError("OpenSTA reported an error:\n" + "\n".join(
            ln for ln in text.splitlines() if ln.startswith("Error"))[:2000])
    out = {}
    for line in text.splitlines():
        m = _TOTAL.match(line)
        if m and "" not in out:
            out[""] = _rec(m.groups())
            continue
        m = _ROW.match(line)
        if m:
            out[m.group(5)] = _rec(m.groups()[:4])
    if "" not in out:
        raise UserError("OpenSTA printed no power report")
    return out


def _rec(vals):
    i, s, l, t = map(float, vals)
    return {"internal_w": i, "switching_w": s, "leakage_w": l, "total_w": t}
