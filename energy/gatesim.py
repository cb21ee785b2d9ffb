"""Gate-level simulation of the whole accelerator: the mapped netlist of `flows.asic` (the same
Yosys + ABC run as the area report, hierarchy kept), the OSU018 cell models
(`tools/osu018/osu018_stdcells.v`, from the Debian package of the liberty) and a behavioural
model of the SRAM macros (`constraints/sram_sim.v`), run by Icarus Verilog under the same cocotb
testbench as the RTL (`sim.top`, jobs from `host.job`), dumping every net to a VCD.

The simulation is zero-delay (Icarus ignores the cells' specify blocks without -gspecify), so the
toggle counts are functional activity: glitches are not seen, which underestimates the dynamic
power of deep combinational logic (the multipliers most). The outputs of every job are returned,
so the netlist can be checked bit for bit against the golden model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from lapa.config import config_to_dict
from lapa.errors import UserError

from flows.asic import NETLIST, synthesize_asic, tech_settings
from flows.tools import CONSTRAINTS, DEFAULT_LIBERTY, ROOT, Design, check_liberty

__all__ = ["CELL_MODELS", "synthesized_top", "simulation_text", "run_gate_jobs", "PERIOD_NS"]

CELL_MODELS = os.path.join(ROOT, "tools", "osu018", "osu018_stdcells.v")
SRAM_MODEL = os.path.join(CONSTRAINTS, "sram_sim.v")
PERIOD_NS = 10          # the testbench's clock (sim.top.PERIOD_NS)
CACHE = os.path.join(ROOT, "build", "energy")


def _key(*parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def synthesized_top(cfg, liberty=DEFAULT_LIBERTY, period_ns=10.0, sram_min_bits=256):
    """(run folder, synthesis record) of the whole accelerator for `cfg`, synthesized once per
    (config, liberty, clock, SRAM threshold) under build/energy/."""
    from rtl.generate import top_verilog

    liberty = check_liberty(liberty)
    with open(liberty, "rb") as f:
        lib_hash = hashlib.sha256(f.read()).hexdigest()[:12]
    from flows.asic import ABC_COMMANDS, asic_script

    with open(os.path.join(CONSTRAINTS, "sram_map.v")) as f:
        flow = asic_script("top", period_ns, sram_min_bits) + ABC_COMMANDS + f.read()
    run_dir = os.path.join(CACHE, "synth-" + _key(config_to_dict(cfg), lib_hash, period_ns,
                                                   sram_min_bits, flow))
    done = os.path.join(run_dir, "record.json")
    name, verilog = top_verilog(cfg)
    if os.path.exists(done):   # the record re-read from the run's stat files (current code)
        from flows.asic import read_results

        with open(done) as f:
            old = json.load(f)
        record = read_results(Design(name, "system", verilog), run_dir, liberty,
                              tech_settings(liberty))
        return run_dir, {**record, "synth_s": old.get("synth_s")}
    record = synthesize_asic(Design(name, "system", verilog), run_dir, liberty,
                             tech_settings(liberty), period_ns, sram_min_bits)
    tmp = done + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, done)
    return run_dir, record


def simulation_text(netlist, top, vcd_path):
    """One Verilog text: the netlist with a VCD dump of everything under `top`, the cell models
    and the SRAM model."""
    for path in (CELL_MODELS, SRAM_MODEL):
        if not os.path.isfile(path):
            raise UserError(f"{path}: missing (bash setup.sh copies the OSU018 cell models)")
    m = re.search(rf"^module\s+\\?{re.escape(top)}\s*\(.*?^endmodule", netlist, re.M | re.S)
    if not m:
        raise UserError(f"netlist has no module {top!r}")
    dump = (f'  initial begin\n    $dumpfile("{vcd_path}");\n    $dumpvars(0, {top});\n'
            "  end\n")
    body = m.group(0)
    body = body[:body.rindex("endmodule")] + dump + "endmodule"
    netlist = netlist[:m.start()] + body + netlist[m.end():]
    with open(CELL_MODELS) as f:
        cells = f.read()
    with open(SRAM_MODEL) as f:
        sram = f.read()
    return "`timescale 1ns/1ps\n" + netlist + "\n" + cells + "\n" + sram


def run_gate_jobs(jobs, cfg, vcd_path, *, liberty=DEFAULT_LIBERTY, period_ns=10.0,
                  idle_cycles=0, progress=None):
    """Run `jobs` (LayerInputs) on the gate-level netlist; returns (run folder, synthesis
    record, [(outputs, counters)]) and leaves the VCD at `vcd_path`."""
    from sim.layer import run_rtl_jobs

    run_dir, record = synthesized_top(cfg, liberty, period_ns)
    with open(os.path.join(run_dir, NETLIST)) as f:
        netlist = f.read()
    vcd_path = os.path.abspath(vcd_path)
    os.makedirs(os.path.dirname(vcd_path), exist_ok=True)
    text = simulation_text(netlist, "top", vcd_path)
    results = run_rtl_jobs(jobs, cfg, simulator="icarus", verilog=("top", text),
                           idle_cycles=idle_cycles, progress=progress)
    return run_dir, record, results
