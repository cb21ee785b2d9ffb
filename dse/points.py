"""Points of a sweep (the cross product of its axes over the fixed values) and their jobs.

A job is one task at one point, reduced to the parameters that task reads (`Task.keys`, the
point's values with the task's `[tasks.NAME]` overrides; a setting's name becomes its fields):
points that agree on those share the job, so a synthesis runs once per hardware shape whatever
the predictor. Its key is a content hash of (task, parameters, code version, and the keys of
the jobs it reads: a task's `deps`, the same point's jobs of those tasks when they agree with it
on every parameter both read).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import NamedTuple

from lapa.config import ConfigError, HardwareConfig

from .params import HW_KEYS
from .tasks import TASKS

__all__ = ["Job", "points", "point_label", "task_params", "job_key", "plan", "check_points"]


class Job(NamedTuple):
    task: str
    key: str
    params: dict       # JSON-able, what the task function receives
    code: str          # code version of the task's sources
    label: str         # the first point's label, for progress lines
    deps: dict = {}    # {task: key} of the jobs whose records this one reads


def points(sweep):
    """Every point: a dict of all parameters, in the axes' order (last axis fastest)."""
    names = list(sweep.axes)
    out = []
    for combo in itertools.product(*(sweep.axes[n] for n in names)):
        p = dict(sweep.fixed)
        p.update(zip(names, combo))
        out.append(p)
    return out


def point_label(sweep, point):
    """'pea_lanes=4 peb_lanes=8 setting=m8': the axis values of a point."""
    return " ".join(f"{n}={point[n]}" for n in sweep.axes) or "fixed"


def merged(sweep, task, point):
    return {**point, **sweep.overrides.get(task, {})}


def task_params(sweep, task, point):
    """The parameters `task` reads at `point` (a setting given by its fields, not its name)."""
    m = merged(sweep, task, point)
    out = {k: m[k] for k in TASKS[task].keys}
    if "setting" in out:
        out["setting"] = sweep.settings[out["setting"]].to_dict()
    if TASKS[task].prepare:
        out.update(TASKS[task].prepare(out))
    return out


def job_key(task, params, code, deps=None):
    blob = {"task": task, "params": params, "code": code}
    if deps:
        blob["deps"] = deps
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:20]


def _order(tasks):
    """The sweep's tasks with every task after the ones it reads."""
    out = []

    def visit(name):
        if name not in out:
            for d in TASKS[name].deps:
                if d in tasks:
                    visit(d)
            out.append(name)
    for t in tasks:
        visit(t)
    return out


def _deps(name, params, row, jobs):
    """{task: key} of the point's jobs that `name` reads: each dependency of the point that has
    a job and agrees with `params` on the parameters both read."""
    out = {}
    for d in TASKS[name].deps:
        key = row.get(d)
        if isinstance(key, str) and all(jobs[key].params[k] == params[k]
                                         for k in TASKS[d].keys if k in params):
            out[d] = key
    return out


def _prepared(sweep, name, point, memo):
    """task_params, with a task's `prepare` run once per distinct set of its own parameters."""
    m = merged(sweep, name, point)
    raw = {k: m[k] for k in TASKS[name].keys}
    memo_key = (name, json.dumps(raw, sort_keys=True, default=str))
    if memo_key not in memo:
        memo[memo_key] = task_params(sweep, name, point)
    return memo[memo_key]


def plan(sweep, code_versions):
    """(points, jobs, cells): `jobs` maps a key to its `Job`; `cells[i][task]` is the key of
    point i's job for that task, or ('skip', reason) when the point is out of the task's reach,
    or ('unavailable', reason) for a task not built yet."""
    pts = points(sweep)
    jobs, cells, prepared = {}, [], {}
    for p in pts:
        row = {}
        for name in _order(sweep.tasks):
            task = TASKS[name]
            if not task.available:
                row[name] = ("unavailable", task.reason)
                continue
            why = task.out_of_reach(merged(sweep, name, p))
            if why:
                row[name] = ("skip", why)
                continue
            params = _prepared(sweep, name, p, prepared)
            deps = _deps(name, params, row, jobs)
            key = job_key(name, params, code_versions[name], deps)
            jobs.setdefault(key, Job(name, key, params, code_versions[name], point_label(sweep, p), deps))
            row[name] = key
        cells.append({t: row[t] for t in sweep.tasks})
    return pts, jobs, cells


def check_points(sweep):
    """Refuse a point whose configuration cannot exist, naming the point and the field."""
    from .spec import SweepError

    rtl = any(t in sweep.tasks for t in ("synth", "cycles"))
    seen = set()
    for p in points(sweep):
        for name in sweep.tasks:
            m = merged(sweep, name, p)
            hw = tuple(m[k] for k in HW_KEYS)
            setting = sweep.settings[m["setting"]]
            if (hw, setting.n_rounds) in seen:
                continue
            seen.add((hw, setting.n_rounds))
            try:
                cfg = HardwareConfig(**dict(zip(HW_KEYS, hw)))   # holds the generator's shape rules
                if rtl and setting.n_rounds > cfg.max_rounds:
                    raise ConfigError(f"setting {m['setting']!r} has {setting.n_rounds} rounds, "
                                      f"more than max_rounds = {cfg.max_rounds}")
            except (ConfigError, ValueError) as exc:
                raise SweepError(f"{sweep.path}: point {point_label(sweep, p)}: {exc}") from None
