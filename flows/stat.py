"""Reading Yosys `stat -json`: per-module figures summed over the kept hierarchy.

`stat -json` lists each module with its own cells; an instance of another module is a cell
whose type is that module's name (keys look like "\\name"). Totals for a block are its own
figures plus each submodule's total times its instance count. Figures that Yosys versions
disagree on (whether `area` includes submodules) are recomputed by the caller per module.
"""

from __future__ import annotations

import json

__all__ = ["load_stat", "Hierarchy", "module_key"]


_FIGURES = ("area", "sequential_area", "num_memory_bits", "num_memories", "sram_bits",
            "sram_area")


def load_stat(path):
    """The `modules` of a `stat -json` file, with submodule cell types spelled like module keys
    (Yosys writes an instance's type without the leading backslash)."""
    with open(path) as f:
        modules = json.load(f)["modules"]
    for m in modules.values():
        types = m.get("num_cells_by_type", {})
        m["num_cells_by_type"] = {("\\" + t if "\\" + t in modules else t): n
                                  for t, n in types.items()}
    return modules


class Hierarchy:
    """Hierarchical totals of one `stat -json` record (`modules` dict)."""

    def __init__(self, modules):
        self.modules = modules
        self._memo = {}

    def submodules(self, mod):
        """{submodule key: instance count} of module `mod`."""
        types = self.modules[mod].get("num_cells_by_type", {})
        return {t: n for t, n in types.items() if t in self.modules}

    def own(self, mod, key):
        m = self.modules[mod]
        if key == "cells":  # leaf cells, black boxes included (Yosys's num_cells varies)
            return sum(n for t, n in m.get("num_cells_by_type", {}).items()
                       if t not in self.modules)
        if key in _FIGURES:
            return m.get(key, 0)
        return m.get("num_cells_by_type", {}).get(key, 0)

    def total(self, mod, key):
        """`key` of `mod` including its submodules: "area", "sequential_area", "cells",
        "num_memory_bits", or a cell type such as "$mul"."""
        memo_key = (mod, key)
        if memo_key not in self._memo:
            self._memo[memo_key] = self.own(mod, key) + sum(
                n * self.total(sub, key) for sub, n in self.submodules(mod).items())
        return self._memo[memo_key]

    def cells_by_type(self, mod):
        """Leaf cell counts of `mod` over its hierarchy (submodule instances expanded)."""
        out = {}
        for t, n in self.modules[mod].get("num_cells_by_type", {}).items():
            if t in self.modules:
                for sub_t, sub_n in self.cells_by_type(t).items():
                    out[sub_t] = out.get(sub_t, 0) + n * sub_n
            else:
                out[t] = out.get(t, 0) + n
        return dict(sorted(out.items()))


def module_key(name):
    return "\\" + name
