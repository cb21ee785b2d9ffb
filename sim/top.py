"""cocotb test of the LAPA top level: jobs prepared by `host.job` (`sim.layer` runs it), run as a host would run them.

For every job of LAPA_JOBS: clear the RAM, load the image, program the registers through the
AXI-Lite master, set CTRL.start, wait for `irq`, then read STATUS, ERROR and the counters and dump
the output buffers to the job's result file. With `pause`, every AXI channel of the RAM model
stalls at random (random read latency and write back-pressure). With `reset_mid`, the first job is
interrupted by a reset halfway through its (measured) run time and then run again from scratch.
"""

import itertools
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from host.job import RESULT_REGISTERS
from rtl.soc.regmap import register_map

from .streams import load_config, make_rng, reset, start_clock

POLL = 2000      # cycles between progress polls
PERIOD_NS = 10


def pauses(rng, p):
    return (rng.random() < p for _ in itertools.count())


class Host:
    """The driver's view: RAM, register bus and the job list."""

    def __init__(self, dut, spec):
        self.dut = dut
        self.cfg = load_config()
        self.regs = {r.name: r.offset for r in register_map(self.cfg.hw)}
        self.rng = make_rng(dut._log)
        self.size = max(np.load(j["image"])["image"].size for j in spec["jobs"])
        self.ram = AxiRam(AxiBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=1 << (self.size - 1).bit_length())
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "axil_"), dut.clk, dut.rst)
        if spec["pause"]:
            for ch in (self.ram.read_if.ar_channel, self.ram.read_if.r_channel, self.ram.write_if.aw_channel,
                       self.ram.write_if.w_channel, self.ram.write_if.b_channel):
                ch.set_pause_generator(pauses(self.rng, spec["pause"]))
        self.progress = spec["progress"]

    async def read(self, name):
        return await self.axil.read_dword(self.regs[name])

    async def start(self, job, extra=()):
        """Load the job's image, write its registers (then `extra` ones), set CTRL.start."""
        image = np.load(job["image"])["image"].tobytes()
        self.ram.write(0, bytes(self.ram.size))
        self.ram.write(0, image)
        for name, value in [*job["writes"], *extra]:
            await self.axil.write_dword(self.regs[name], value)
        ctrl = dict(job["writes"])["CTRL"]
        await self.axil.write_dword(self.regs["CTRL"], ctrl | 1)
        self.t_start = get_sim_time("ps")   # the job's window in a waveform (energy.table)
        await ClockCycles(self.dut.clk, 4)   # STATUS.done (and irq) of the previous job clears

    async def save(self, job):
        """The job's output buffers and result registers, to its result file."""
        result = {name: np.frombuffer(self.ram.read(addr, size), np.uint8)
                  for name, (addr, size) in job["outputs"].items()}
        for name in RESULT_REGISTERS:
            result[name.lower()] = np.asarray(await self.read(name))
        result["t_start_ps"] = np.asarray(self.t_start)
        np.savez(job["result"], **result)
        return result

    async def run(self, job, n, total, cut=None):
        """One job; returns its cycle count. `cut`: reset after that many cycles instead."""
        dut = self.dut
        await self.start(job)
        cycles = 0
        while not int(dut.irq.value):
            if cut is not None and cycles >= cut:
                await reset(dut)
                assert int(await self.read("STATUS")) == 0, "STATUS not cleared by reset"
                return cycles
            # a Timer is one simulator callback; ClockCycles would wake Python on every edge
            step = POLL if cut is None else min(POLL, cut - cycles)
            await Timer(step * PERIOD_NS, "ns")
            cycles += step
            if cycles > job["max_cycles"]:
                raise AssertionError(f"job {n + 1}: no irq after {cycles} cycles (STATUS = "
                                     f"{await self.read('STATUS'):#x}, PROGRESS = {await self.read('PROGRESS')})")
            if not int(dut.irq.value):
                heads = await self.read("PROGRESS")
                with open(self.progress, "w") as f:
                    f.write(f"RTL simulation: job {n + 1}/{total}, heads done {heads}/{job['heads']}, "
                            f"{cycles} cycles")
        result = await self.save(job)
        return int(result["cycles_total"])


@cocotb.test()
async def run_jobs(dut):
    """Every job of LAPA_JOBS, in order, on one reset (and one more after a mid-job reset)."""
    spec = json.loads(os.environ["LAPA_JOBS"])
    await start_clock(dut, PERIOD_NS)
    host = Host(dut, spec)
    await reset(dut)
    jobs = spec["jobs"]
    if spec["reset_mid"]:
        # Measure the first job, then run it again and pull reset halfway: the rerun must not
        # see anything of the interrupted one (its result file is rewritten by the final run).
        full = await host.run(jobs[0], 0, len(jobs))
        await host.run(jobs[0], 0, len(jobs), cut=full // 2)
    for n, job in enumerate(jobs):
        await host.run(job, n, len(jobs))
        await RisingEdge(dut.clk)
    if spec.get("idle_cycles"):
        await ClockCycles(dut.clk, spec["idle_cycles"])
