"""`synth`: the ASIC flow of `build.py synth` (Yosys + OSU 0.18 um + OpenSTA, SRAM macros from
CACTI) on the point's hardware: area per unit and in total, Fmax of the slowest block, and per
block area, cells and Fmax. One job per worker thread (`--jobs 1`); the work folder is a temporary
one on the worker, only the figures travel back."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile

from lapa.config import HardwareConfig, LapaConfig

__all__ = ["run"]


def run(params):
    from flows.flow import designs_for, run_asic, select_blocks
    from flows.tools import DEFAULT_LIBERTY

    cfg = LapaConfig(hw=HardwareConfig(**{f.name: params[f.name]
                                          for f in dataclasses.fields(HardwareConfig)}))
    infos = select_blocks(params["block"])
    tmp = tempfile.mkdtemp(prefix="lapa-dse-synth-")
    try:
        designs = designs_for(infos, cfg)
        rec = run_asic(designs, cfg, tmp, params["liberty"] or DEFAULT_LIBERTY, params["clock_ns"], jobs=1,
                       sram_min_bits=params["sram_min_bits"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    units = {u: {"area_um2": v["area_um2"], "sram_area_um2": v["sram_area_um2"], "blocks": v["blocks"]}
             for u, v in rec["units"].items()}
    blocks = {n: {"unit": b["unit"], "area_um2": b["area_um2"], "sram_area_um2": b["sram_area_um2"],
                  "cells": b["cells"], "fmax_mhz": b["timing"].get("fmax_mhz")}
              for n, b in rec["blocks"].items()}
    return {"area_um2": sum(u["area_um2"] for u in units.values()),
            "sram_area_um2": sum(u["sram_area_um2"] for u in units.values()),
            "fmax_mhz": rec["timing"]["fmax_mhz"], "worst_block": rec["timing"]["worst_block"],
            "timing_engine": rec["timing"]["engine"], "share": rec["share"], "units": units,
            "blocks": blocks, "tools": rec["tools"], "sram_source": rec["tech"].get("sram_source"),
            "clock_ns": rec["clock_ns"], "flow_wall_s": rec["wall_s"]}
