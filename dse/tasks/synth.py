"""`synth`: the ASIC flow of `build.py synth` (Yosys + OSU 0.18 um + OpenSTA, SRAM macros from
CACTI) on the point's hardware: area per unit and in total, Fmax of the slowest block, and per
block area, cells and Fmax. One job per worker thread (`--jobs 1`); the work folder is a temporary
one on the worker, only the figures travel back.

Each block's flow record is cached on the worker (build/synth-blocks/) under a hash of its
Verilog, the liberty file's contents, the clock, the SRAM threshold and the flow's own sources,
so a block whose Verilog does not change along a sweep's axes (the execution unit across PEA /
PEB lanes) is synthesized once; a lock per block makes a second worker wait for the first rather
than repeat it. The record says which blocks came from the cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import tempfile

from lapa.config import HardwareConfig, LapaConfig

from ..codeversion import ROOT, code_version
from ..params import HW_KEYS

__all__ = ["run", "BLOCK_CACHE"]

BLOCK_CACHE = os.path.join(ROOT, "build", "synth-blocks")


def _block_key(design, liberty, clock_ns, sram_min_bits, flow):
    h = hashlib.sha256()
    with open(liberty, "rb") as f:
        lib = hashlib.sha256(f.read()).hexdigest()
    for part in (design.name, design.unit, design.verilog, lib, repr(float(clock_ns)), str(sram_min_bits), flow):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:24]


@contextlib.contextmanager
def _locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _blocks(designs, cfg, liberty, clock_ns, sram_min_bits):
    """{block name: cache entry} (the block's flow record, the tools, the SRAM source and the
    timing engine), from the cache or one run_asic per missing block; and the names taken
    from the cache."""
    from flows.flow import run_asic
    from lapa.report import write_json

    flow = code_version(("flows", "constraints"))
    blocks, cached = {}, []
    for d in designs:
        path = os.path.join(BLOCK_CACHE, _block_key(d, liberty, clock_ns, sram_min_bits, flow) + ".json")
        with _locked(path):
            if os.path.exists(path):
                with open(path) as f:
                    blocks[d.name] = json.load(f)
                cached.append(d.name)
                continue
            tmp = tempfile.mkdtemp(prefix="lapa-dse-synth-")
            try:
                rec = run_asic([d], cfg, tmp, liberty, clock_ns, jobs=1, sram_min_bits=sram_min_bits)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            blocks[d.name] = {"block": rec["blocks"][d.name], "tools": rec["tools"],
                              "sram_source": rec["tech"].get("sram_source"),
                              "timing_engine": rec["timing"]["engine"]}
            write_json(path, blocks[d.name])
    return blocks, cached


def run(params):
    from flows.flow import designs_for, select_blocks, share, unit_totals
    from flows.tools import DEFAULT_LIBERTY, check_liberty

    cfg = LapaConfig(hw=HardwareConfig(**{k: params[k] for k in HW_KEYS}))
    liberty = check_liberty(params["liberty"] or DEFAULT_LIBERTY)
    designs = designs_for(select_blocks(params["block"]), cfg)
    entries, cached = _blocks(designs, cfg, liberty, params["clock_ns"], params["sram_min_bits"])
    blocks = {n: e["block"] for n, e in entries.items()}
    first = next(iter(entries.values()))
    units_all = unit_totals(blocks, "area_um2", "sram_area_um2")
    timed = [(b["timing"]["fmax_mhz"], n) for n, b in blocks.items() if b["timing"].get("fmax_mhz")]
    worst = min(timed) if timed else (None, None)
    units = {u: {"area_um2": v["area_um2"], "sram_area_um2": v["sram_area_um2"], "blocks": v["blocks"]}
             for u, v in units_all.items()}
    out_blocks = {n: {"unit": b["unit"], "area_um2": b["area_um2"], "sram_area_um2": b["sram_area_um2"],
                      "cells": b["cells"], "fmax_mhz": b["timing"].get("fmax_mhz"),
                      "srams": [{k: s[k] for k in ("path", "width", "depth", "area_um2") if k in s}
                                for s in b.get("srams", [])]}
                  for n, b in blocks.items()}
    return {"area_um2": sum(u["area_um2"] for u in units.values()),
            "sram_area_um2": sum(u["sram_area_um2"] for u in units.values()),
            "fmax_mhz": worst[0], "worst_block": worst[1],
            "timing_engine": ", ".join(sorted({e["timing_engine"] for e in entries.values()})), "share": share(units_all), "units": units,
            "blocks": out_blocks, "tools": first["tools"],
            "sram_source": first["sram_source"],
            "clock_ns": params["clock_ns"], "cached_blocks": cached,
            "flow_wall_s": round(sum(b.get("synth_s", 0.0) for n, b in blocks.items() if n not in cached), 1)}
