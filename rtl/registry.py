"""Registry of generatable blocks: name -> factory(LapaConfig) -> Component, with its unit.

RTL modules register their blocks with `@block("name", unit=...)`; `build.py verilog --block`,
synthesis and tests look blocks up here, so adding a block is one decorator, not a list edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, NamedTuple

from rtl.common.errors import HDLConfigError

__all__ = ["BlockInfo", "block", "blocks", "get_block", "UNITS", "ALL_UNITS"]

UNITS = ("speculation", "execution", "control")   # the parts an area breakdown adds up
ALL_UNITS = UNITS + ("system",)                     # "system": the whole accelerator (by name only)


class BlockInfo(NamedTuple):
    """A generatable block: its name, the unit it belongs to, and how to build it from a config."""

    name: str
    unit: str
    factory: Callable
    doc: str


_BLOCKS: dict[str, BlockInfo] = {}


def block(name, unit):
    """Decorator for `factory(cfg: LapaConfig) -> wiring.Component`."""
    if unit not in ALL_UNITS:
        raise ValueError(f"unit = {unit!r}: must be one of {ALL_UNITS}")

    def wrap(factory):
        doc = (factory.__doc__ or "").strip().splitlines()
        _BLOCKS[name] = BlockInfo(name, unit, factory, doc[0] if doc else "")
        return factory
    return wrap


def _load_all():
    import rtl

    for info in pkgutil.walk_packages(rtl.__path__, prefix="rtl."):
        if info.name not in ("rtl.registry", "rtl.generate"):
            importlib.import_module(info.name)


def blocks() -> dict[str, BlockInfo]:
    """Every registered block, by name."""
    _load_all()
    return dict(sorted(_BLOCKS.items()))


def get_block(name) -> BlockInfo:
    """The block called `name`, or an HDLConfigError listing the known ones."""
    known = blocks()
    if name not in known:
        raise HDLConfigError(f"--block = {name!r}: unknown block; known blocks: {', '.join(known) or '(none)'}")
    return known[name]
