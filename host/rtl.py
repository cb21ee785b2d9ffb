"""The RTL backend of `build.py run`: a vector file through the generated accelerator.

The hardware is fitted to the file's shape (`host.job.hw_for_layer`; options named in `given`
are kept), a layer it cannot hold is refused before any simulation, and the job runs on a
simulation harness; the outputs of SPEC section 6 gain `cycles`, the performance counters and
SPEC section 7's work accounting.
"""

from __future__ import annotations

import time

import numpy as np

from lapa.config import HardwareConfig, LapaConfig
from lapa.vectors import LayerInputs

from .job import accounting, hw_for_layer

__all__ = ["run_rtl_layer"]


def run_rtl_layer(inputs: LayerInputs, *, hw: HardwareConfig | None = None, given=(), waves=None,
                  simulator="verilator", progress=None):
    """SPEC 6 outputs plus `cycles`, the counters and `wall_seconds`."""
    from sim.layer import run_rtl_jobs

    t0 = time.perf_counter()
    hw = hw_for_layer(inputs.shape, hw, given)
    cfg = LapaConfig(hw=hw)
    [(out, counters)] = run_rtl_jobs([inputs], cfg, simulator=simulator, waves=waves, progress=progress)
    out["cycles"] = np.asarray(counters["cycles_total"], dtype=np.int64)
    for name, val in counters.items():
        out[name] = np.asarray(val, dtype=np.int64)
    out.update(accounting(inputs, out, counters))
    out["wall_seconds"] = np.asarray(time.perf_counter() - t0)
    return out
