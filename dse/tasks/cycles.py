"""`cycles`: the point's example layer through the RTL backend (`lapa.backends.run_backend`,
the path of `build.py run --backend rtl`; it gets faster when the backend does) on hardware of
the point's shape: measured cycles, the performance counters, the PE-bound ideal beside them,
and whether every SPEC 6 output equals the golden model's. With `backend = "model"` the cycles
and counters come from the cycle model (`perf`, a production job; its error against the RTL is
`perf.MODEL_ERROR`), for sizes too long to simulate; `bit_exact` is then None (nothing simulated)."""

from __future__ import annotations

import dataclasses

import numpy as np

from lapa.config import HardwareConfig

from ..params import HW_KEYS

__all__ = ["run"]

SPEC6_OUTPUTS = ("q_hat", "k_hat", "q", "k", "v", "mask", "key_needed", "probs", "o")


def run(params):
    from host.job import COUNTERS, ideal_cycles
    from lapa.backends import run_backend

    from .layer import example_inputs, layer_counts

    hw = HardwareConfig(**{k: params[k] for k in HW_KEYS})
    inputs = example_inputs(params)
    if params.get("backend", "rtl") == "model":
        return _model(inputs, hw)
    given = tuple(f.name for f in dataclasses.fields(HardwareConfig))   # the point's shape (lapa), not a fit
    out = run_backend("rtl", inputs, hw=hw, given=given, progress=False)
    rec = layer_counts(inputs, out)
    gold = run_backend("golden", inputs)
    rec["bit_exact"] = all(np.array_equal(out[k], gold[k]) for k in SPEC6_OUTPUTS)
    spec, execm = ideal_cycles(hw, inputs.shape, sum(rec["candidates"]), rec["mask_nnz"], rec["key_needed"])
    rec.update({c: int(out[c]) for c in COUNTERS})
    rec.update(cycles=int(out["cycles"]), ideal_spec=round(spec), ideal_exec=round(execm),
               ideal_cycles=round(max(spec, execm)), cycles_over_ideal=int(out["cycles"]) / max(spec, execm),
               backend="rtl", wall_seconds=round(float(out["wall_seconds"]), 1))
    return rec


def _model(inputs, hw):
    from host.job import COUNTERS, check_fits
    from lapa.backends import run_backend
    from perf import MODEL_ERROR, MODEL_SOURCE, predict, profile_from_outputs

    from .layer import layer_counts

    check_fits(inputs.shape, hw)
    gold = run_backend("golden", inputs)
    rec = layer_counts(inputs, gold)
    m = predict(profile_from_outputs(inputs, gold), hw)
    rec.update({c: m[c] for c in COUNTERS})
    rec.update(cycles=m["cycles"], ideal_spec=m["ideal_spec"], ideal_exec=m["ideal_exec"],
               ideal_cycles=max(m["ideal_spec"], m["ideal_exec"]),
               cycles_over_ideal=m["cycles"] / max(m["ideal_spec"], m["ideal_exec"], 1),   # as the RTL path's
               bit_exact=None, backend="model", source=MODEL_SOURCE, model_error=MODEL_ERROR)
    return rec
