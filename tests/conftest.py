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
