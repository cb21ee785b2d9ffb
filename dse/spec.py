"""Reading SWEEP.toml: every value checked, every mistake one `SweepError` naming its field.

    [sweep]                       name, tasks (from the registry), out (report folder, optional)
    [fixed]                       parameter = value (dse.params; others keep their defaults)
    [axes]                        parameter = [values, ...] (the cross product is the sweep)
    [settings.NAME]               a DDF setting (evaluation.settings.Setting's fields)
    [tasks.NAME]                  parameter = value for that task only (e.g. cycles at a small L)
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass

from lapa.errors import UserError

from .params import PARAMS, defaults
from .tasks import TASKS

__all__ = ["Sweep", "SweepError", "load_sweep", "parse_sweep"]

TABLES = ("sweep", "fixed", "axes", "settings", "tasks")
SWEEP_KEYS = ("name", "tasks", "out")
SETTING_FIELDS = {"ddf_mode": "str", "round_bits": "ints", "eta": "floats", "margin_nats": "floats",
                  "w_lo_mode": "str", "w_lo_mant_bits": "int", "sg_prob": "float", "topk_keep": "keep"}


class SweepError(UserError):
    """A malformed sweep file; the message starts with the file and the field."""


@dataclass(frozen=True)
class Sweep:
    path: str
    name: str
    tasks: tuple
    fixed: dict        # every parameter: the file's fixed value or its default
    axes: dict         # parameter -> tuple of values, in the file's order
    settings: dict     # name -> evaluation.settings.Setting
    overrides: dict    # task -> {parameter: value}
    out: str | None


def _kind_error(where, value, kind):
    want = {"int": "an integer", "float": "a number", "bool": "0 or 1 (or true / false)",
            "str": "a string", "path": "a path (string)"}[kind]
    return f"{where} = {value!r}: expected {want}"


def _value(where, name, value):
    """A parameter's value checked against its kind, choices and range; returns it normalized."""
    p = PARAMS[name]
    if p.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif p.kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif p.kind == "bool":
        ok = isinstance(value, bool) or (isinstance(value, int) and value in (0, 1))
    else:
        ok = isinstance(value, str) and value != ""
    if not ok:
        raise ValueError(_kind_error(where, value, p.kind))
    if p.kind == "bool":
        return bool(value)
    if p.kind == "float":
        value = float(value)
    if p.choices and value not in p.choices:
        raise ValueError(f"{where} = {value!r}: must be one of {', '.join(p.choices)}")
    if p.lo is not None and not p.lo <= value <= p.hi:
        raise ValueError(f"{where} = {value!r}: out of range, allowed {p.lo:g}..{p.hi:g}")
    if p.kind == "path":
        if not os.path.isfile(value):
            raise ValueError(f"{where} = {value!r}: no such file")
        value = os.path.abspath(value)
    return value


def _table(data, name, where):
    t = data.get(name, {})
    if not isinstance(t, dict):
        raise ValueError(f"{where}: expected a table [{name}], got {type(t).__name__}")
    return t


def _known(where, key):
    if key not in PARAMS:
        raise ValueError(f"{where}.{key}: unknown parameter (known: {', '.join(PARAMS)})")


def _setting(where, table):
    from evaluation.sweep import DEFAULT_SETTING

    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table of setting fields")
    given = {}
    for key, v in table.items():
        kind = SETTING_FIELDS.get(key)
        at = f"{where}.{key}"
        if kind is None:
            raise ValueError(f"{at}: unknown setting field (known: {', '.join(SETTING_FIELDS)})")
        if kind in ("ints", "floats"):
            vals = v if isinstance(v, list) else [v]
            num = (lambda x: isinstance(x, int)) if kind == "ints" else \
                (lambda x: isinstance(x, (int, float)) and math.isfinite(x))
            if not vals or any(isinstance(x, bool) or not num(x) for x in vals):
                raise ValueError(f"{at} = {v!r}: expected a list of {'integers' if kind == 'ints' else 'numbers'}")
            v = tuple(vals) if kind == "ints" else tuple(float(x) for x in vals)
        elif kind == "keep":
            if v == "match":
                v = None
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{at} = {v!r}: expected a fraction of L or 'match'")
        elif kind == "int" and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{at} = {v!r}: expected an integer")
        elif kind == "float" and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValueError(f"{at} = {v!r}: expected a number")
        elif kind == "str" and not isinstance(v, str):
            raise ValueError(f"{at} = {v!r}: expected a string")
        given[key] = v
    base = DEFAULT_SETTING
    if "round_bits" in given:   # thresholds not given follow the number of rounds
        for key in ("eta", "margin_nats"):
            given.setdefault(key, getattr(base, key)[:1])
    try:
        return dataclasses.replace(base, **given)
    except UserError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_sweep(data, path="SWEEP.toml"):
    """A validated `Sweep` from the parsed TOML `data`; `SweepError` on the first mistake."""
    try:
        return _parse(data, path)
    except ValueError as exc:
        raise SweepError(f"{path}: {exc}") from None


def _parse(data, path):
    for key in data:
        if key not in TABLES:
            raise ValueError(f"[{key}]: unknown table (known: {', '.join(TABLES)})")
    head = _table(data, "sweep", "[sweep]")
    for key in head:
        if key not in SWEEP_KEYS:
            raise ValueError(f"sweep.{key}: unknown field (known: {', '.join(SWEEP_KEYS)})")
    name = head.get("name", os.path.splitext(os.path.basename(path))[0])
    if not isinstance(name, str) or not name:
        raise ValueError(f"sweep.name = {name!r}: expected a non-empty string")
    tasks = head.get("tasks")
    if tasks is None:
        raise ValueError(f"sweep.tasks: missing (choose from {', '.join(TASKS)})")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise ValueError(f"sweep.tasks = {tasks!r}: expected a non-empty list of task names")
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"sweep.tasks: unknown task {t!r} (known: {', '.join(TASKS)})")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"sweep.tasks = {tasks!r}: a task is listed twice")
    out = head.get("out")
    if out is not None and (not isinstance(out, str) or not out):
        raise ValueError(f"sweep.out = {out!r}: expected a folder path")

    settings = {}
    for sname, table in _table(data, "settings", "[settings]").items():
        settings[sname] = _setting(f"settings.{sname}", table)
    if "default" not in settings:
        from evaluation.sweep import DEFAULT_SETTING

        settings["default"] = DEFAULT_SETTING

    fixed = defaults()
    for key, v in _table(data, "fixed", "[fixed]").items():
        _known("fixed", key)
        if isinstance(v, list):
            raise ValueError(f"fixed.{key} = {v!r}: a list belongs in [axes]")
        fixed[key] = _value(f"fixed.{key}", key, v)
    axes = {}
    for key, vals in _table(data, "axes", "[axes]").items():
        _known("axes", key)
        if key in _table(data, "fixed", "[fixed]"):
            raise ValueError(f"axes.{key}: also in [fixed]")
        if not isinstance(vals, list):
            raise ValueError(f"axes.{key} = {vals!r}: expected a list of values")
        if not vals:
            raise ValueError(f"axes.{key}: empty axis (give at least one value)")
        axes[key] = tuple(_value(f"axes.{key}[{i}]", key, v) for i, v in enumerate(vals))
        if len(set(axes[key])) != len(axes[key]):
            raise ValueError(f"axes.{key} = {vals!r}: a value is listed twice")

    overrides = {}
    for tname, table in _table(data, "tasks", "[tasks]").items():
        if tname not in TASKS:
            raise ValueError(f"tasks.{tname}: unknown task (known: {', '.join(TASKS)})")
        if not isinstance(table, dict):
            raise ValueError(f"tasks.{tname}: expected a table of parameter = value")
        for key, v in table.items():
            _known(f"tasks.{tname}", key)
            overrides.setdefault(tname, {})[key] = _value(f"tasks.{tname}.{key}", key, v)

    names = set(axes.get("setting", ())) | {fixed["setting"]} | \
        {o["setting"] for o in overrides.values() if "setting" in o}
    for s in sorted(names):
        if s not in settings:
            raise ValueError(f"setting {s!r}: no [settings.{s}] table (known: {', '.join(settings)})")
    return Sweep(path=path, name=name, tasks=tuple(tasks), fixed=fixed, axes=axes, settings=settings,
                 overrides=overrides, out=out)


def load_sweep(path):
    """Read and validate a sweep file; then check every point's configuration (`dse.points`)."""
    from .points import check_points

    if not os.path.exists(path):
        raise SweepError(f"{path}: no such file")
    if os.path.isdir(path):
        raise SweepError(f"{path}: is a folder, expected a sweep file (.toml)")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{path}: cannot read it ({exc})") from None
    sweep = parse_sweep(data, path)
    check_points(sweep)
    return sweep
