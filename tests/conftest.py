"""pytest options shared by the regressions: which simulators the cocotb tests run on."""

import pytest

from sim.runner import SIMULATORS


def pytest_addoption(parser):
    parser.addoption("--simulator", default="verilator", choices=SIMULATORS + ("both",),
                     help="simulator for the cocotb regressions (default verilator; 'both' adds Icarus)")


def simulators(config):
    choice = config.getoption("--simulator")
    return list(SIMULATORS) if choice == "both" else [choice]


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", simulators(metafunc.config))


def pytest_terminal_summary(terminalreporter):
    """The corner-case coverage table of the end-to-end regressions that ran (tests/coverage_bins.py)."""
    from pathlib import Path

    from . import coverage_bins

    if not coverage_bins.hits():
        return
    terminalreporter.section("end-to-end coverage (bins: tests/coverage_bins.py)")
    terminalreporter.write_line(coverage_bins.table())
    out = Path(__file__).resolve().parent.parent / "build" / "coverage.json"
    coverage_bins.write_json(out)
    terminalreporter.write_line(f"written to {out}")
