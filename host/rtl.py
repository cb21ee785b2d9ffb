"""The RTL backend of `build.py run`: a vector file through the generated accelerator.

The hardware is fitted to the file's shape and generates the file's predictor (`host.job.hw_for_layer`;
options named in `given` are kept), a layer it cannot hold is refused before any simulation, and the job runs on a
simulation engine: `harness` (the default; `host.harness`, the C++ Verilator harness, no Python
in the clock loop) or `cocotb` (`sim.layer`, the regressions' path, Verilator or Icarus). The
outputs of SPEC section 6 gain `cycles`, the performance counters and SPEC section 7's work
accounting.
"""

from __future__ import annotations

import time

import numpy as np

from lapa.config import HardwareConfig, LapaConfig
from lapa.errors import UserError
from lapa.report import check_output_file
from lapa.vectors import LayerInputs

from .job import accounting, hw_for_layer

__all__ = ["ENGINES", "check_engine", "run_rtl_layer"]


ENGINES = ("harness", "cocotb")


def check_engine(engine, simulator):
    """Refuse an engine / simulator pair that does not exist (the harness is Verilator only)."""
    if engine not in ENGINES:
        raise UserError(f"--engine = {engine!r}: must be one of {', '.join(ENGINES)}")
    if engine == "harness" and simulator not in (None, "verilator"):
        raise UserError(f"--simulator {simulator} needs --engine cocotb (the harness is Verilator only)")


def run_rtl_layer(inputs: LayerInputs, *, hw: HardwareConfig | None = None, given=(), waves=None,
                  simulator=None, progress=None, engine="harness"):
    """SPEC 6 outputs plus `cycles`, the counters and `wall_seconds`."""
    check_engine(engine, simulator)
    if waves:
        check_output_file(waves, what="--waves")
    t0 = time.perf_counter()
    hw = hw_for_layer(inputs.shape, hw, given, predictor=inputs.arith.predictor)
    cfg = LapaConfig(hw=hw)
    if engine == "harness":
        from .harness import run_harness_jobs

        [(out, counters)] = run_harness_jobs([inputs], cfg, waves=waves, progress=progress)
    else:
        from sim.layer import run_rtl_jobs

        [(out, counters)] = run_rtl_jobs([inputs], cfg, simulator=simulator or "verilator", waves=waves,
                                         progress=progress)
    out["cycles"] = np.asarray(counters["cycles_total"], dtype=np.int64)
    for name, val in counters.items():
        out[name] = np.asarray(val, dtype=np.int64)
    out.update(accounting(inputs, out, counters))
    out["wall_seconds"] = np.asarray(time.perf_counter() - t0)
    return out
