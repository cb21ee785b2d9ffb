"""The task registry: what a sweep can compute at a point.

A task is a plain function `run(params) -> dict` (JSON-able) of the parameters it reads
(`keys`: a result is shared by every point that agrees on them, so a synthesis is not repeated
per predictor); `sources` are the folders whose contents make its code version; `heavy` tasks
(synthesis, RTL cycles, evaluation) take one unit of the Dask resource `heavy`, which each worker offers
once, so a worker never runs two of them at a time. `applies(params)` returns why a point is out
of a task's reach (None when it is not). `deps` name tasks whose results at the same point the
task reads (`run(params, deps)` gets their records; a dependency is used only when its job agrees
with this one on every parameter both read); `prepare(params)` adds parameters fixed when the
sweep is planned (e.g. which energy table), so they enter the job's content hash. A task that is
not built yet has `func = None` and a `reason`: the report lists it as unavailable instead of
inventing numbers; adding it is filling in one entry.
"""

from __future__ import annotations

import importlib
from typing import Callable, NamedTuple

from ..params import HW_KEYS, WORKLOAD_KEYS

__all__ = ["Task", "TASKS", "get_task", "HEAVY"]

HEAVY = "heavy"   # the Dask resource heavy tasks take one of

SETTING_KEYS = ("predictor", "setting")
SYNTH_KEYS = HW_KEYS + ("clock_ns", "block", "sram_min_bits", "liberty")
WORK_KEYS = WORKLOAD_KEYS + SETTING_KEYS
CYCLES_KEYS = tuple(dict.fromkeys(HW_KEYS + WORK_KEYS + ("backend",)))
EVAL_KEYS = ("ctx", "windows", "layers") + SETTING_KEYS
ENERGY_KEYS = CYCLES_KEYS + ("sram_min_bits",)


class Task(NamedTuple):
    name: str
    func: str | None          # "module:function", imported on the worker
    keys: tuple
    sources: tuple
    heavy: bool = False
    applies: Callable | None = None
    reason: str = ""          # why the task is unavailable (func None)
    summary: str = ""
    deps: tuple = ()          # tasks whose results at the point this one reads
    prepare: Callable | None = None

    @property
    def available(self):
        return self.func is not None

    def function(self):
        module, _, name = self.func.partition(":")
        return getattr(importlib.import_module(module), name)

    def out_of_reach(self, params):
        return self.applies(params) if self.applies else None


def _rtl_only(params):
    if params.get("backend", "rtl") == "model":
        if params["predictor"] not in ("lapa", "dense", "symlo"):
            return f"predictor {params['predictor']}: the cycle model schedules lapa, dense and symlo only"
    elif params["predictor"] != "lapa":
        return f"predictor {params['predictor']}: the RTL backend builds the lapa predictor only"
    if params["seq_len"] > params["max_seq_len"]:
        return f"seq_len {params['seq_len']} > max_seq_len {params['max_seq_len']}"
    return None


def _energy_applies(params):
    from .energy import applies

    return applies(params)


def _energy_prepare(params):
    from .energy import prepare

    return prepare(params)


def dense_setting(params):
    """dense reads no DDF setting: its points share one job whatever the setting (the default
    setting's fields calibrate its example layer). Used by every task whose jobs dense shares,
    so that dense's energy job finds its cycles job as a dependency at every setting."""
    from evaluation.sweep import DEFAULT_SETTING

    return {"setting": DEFAULT_SETTING.to_dict()} if params.get("predictor") == "dense" else {}


def _golden_only(params):
    if params["predictor"] == "oracle":
        return "predictor oracle: exact scores, evaluated by the eval task only"
    return None


_COMMON = ("lapa", "dse/tasks")
TASKS = {t.name: t for t in (
    Task("synth", "dse.tasks.synth:run", SYNTH_KEYS, _COMMON + ("rtl", "flows", "constraints"),
         heavy=True, summary="ASIC flow (build.py synth): area, cells, Fmax per block"),
    Task("work", "dse.tasks.work:run", WORK_KEYS, _COMMON + ("golden",), applies=_golden_only,
         summary="golden model on the example layer: SPEC 7 / 8 work, density, PE-bound cycles"),
    Task("cycles", "dse.tasks.cycles:run", CYCLES_KEYS, _COMMON + ("golden", "rtl", "sim", "host", "perf"),
         heavy=True, applies=_rtl_only, prepare=dense_setting,
         summary="RTL backend (host.rtl, a Verilator build per shape): measured cycles and counters; "
         "backend = 'model': the perf cycle model"),
    Task("eval", "dse.tasks.evaluate:run", EVAL_KEYS, _COMMON + ("golden", "evaluation"), heavy=True,
         summary="build.py eval: SmolLM2-135M perplexity change, density, execution reduction"),
    Task("energy", "dse.tasks.energy:run", ENERGY_KEYS,
         _COMMON + ("golden", "energy", "rtl", "flows", "tests/data/energy_table_small.json"),
         applies=_energy_applies, deps=("cycles", "synth"), prepare=_energy_prepare,
         summary="energy.layer: actions x measured pJ/action + CACTI SRAM + idle/leakage x cycles"),
)}


def get_task(name):
    return TASKS[name]
