"""Jobs through the generated accelerator under cocotb (the regressions' path).

The host side (`host.job`) prepares each job's memory image and register writes; the cocotb
test `sim.top` loads the image into cocotbext-axi's AXI RAM, programs the registers through its
AXI-Lite master, starts the job, waits for the interrupt and dumps the output buffers and
counters, which `host.job.decode_outputs` turns back into SPEC section 6 outputs. One Verilator
(or Icarus) build serves every job of a hardware configuration.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from host.job import RESULT_REGISTERS, cycle_bound, job_outputs
from host.job import prepare_jobs as prepare_images
from lapa.config import LapaConfig
from lapa.memlayout import MemoryLayout

__all__ = ["prepare_jobs", "read_result", "run_rtl_jobs"]


class _Progress(threading.Thread):
    """Prints the progress file the testbench keeps ("job j/n, heads done h/H") while it
    changes: one updated line on a terminal, else a line at most every `every` seconds."""

    def __init__(self, path, stream, every=15.0):
        super().__init__(daemon=True)
        self.path, self.stream, self.stop = path, stream, threading.Event()
        self.tty = stream.isatty()
        self.every = 0.0 if self.tty else every

    def run(self):
        shown, last = None, 0.0
        while not self.stop.wait(0.5):
            try:
                text = Path(self.path).read_text().strip()
            except OSError:
                continue
            if text and text != shown and time.monotonic() - last >= self.every:
                print(f"\r{text}   " if self.tty else text, end="" if self.tty else "\n",
                      file=self.stream, flush=True)
                shown, last = text, time.monotonic()
        if shown is not None and self.tty:
            print(file=self.stream, flush=True)


def prepare_jobs(jobs, cfg: LapaConfig, work: Path, *, trace=True, overrides=None):
    """The testbench's job specs (memory image files, register writes, output buffers, result
    file, cycle bound) and the memory layouts, for `LayerInputs` that fit `cfg.hw`."""
    specs, layouts = [], []
    for n, (inputs, (lay, image, writes)) in enumerate(zip(jobs, prepare_images(jobs, cfg.hw, trace, overrides))):
        path = work / f"job{n}.npz"
        np.savez(path, image=np.frombuffer(image, np.uint8))
        outputs = {name: [lay[name].addr, lay[name].size] for name in MemoryLayout.OUTPUTS}
        specs.append({"image": str(path), "writes": writes, "outputs": outputs,
                      "result": str(work / f"result{n}.npz"), "heads": inputs.shape[3],
                      "max_cycles": cycle_bound(inputs.shape, cfg.hw)})
        layouts.append(lay)
    return specs, layouts


def read_result(path, inputs, lay):
    """(outputs, counters) of a job's result file; a job that ended with an error raises
    `UserError` naming its ERROR code."""
    with np.load(path) as res:
        raw = {name: res[name].tobytes() for name in MemoryLayout.OUTPUTS}
        regs = {name.lower(): int(res[name.lower()]) for name in RESULT_REGISTERS}
    return job_outputs(inputs, lay, raw, regs)


def run_rtl_jobs(jobs, cfg: LapaConfig, *, simulator="verilator", waves=None, pause=0.0,
                 reset_mid=False, progress=None, trace=True, overrides=None, verilog=None,
                 idle_cycles=0):
    """Run several `LayerInputs` (all of `cfg.hw`'s shape limits) on one build; returns a list of
    (outputs, counters) in order. `pause`: probability of a stall on every AXI channel of the
    RAM model (random read latency, back-pressure). `reset_mid`: the first job is reset halfway
    and run again. `overrides`: register writes ({name: value}) after each job's own, to test
    the hardware's refusals; a refused job raises `UserError` naming the ERROR code.
    `verilog`: (module name, text) to simulate instead of the generated accelerator (a mapped
    netlist with its cell models, `energy.gatesim`); `idle_cycles`: clock cycles the testbench
    runs after the last job, with nothing to do (the idle window of an energy measurement)."""
    from rtl.generate import top_verilog
    from sim.runner import run_cocotb

    work = Path(tempfile.mkdtemp(prefix="lapa-rtl-"))
    specs, layouts = prepare_jobs(jobs, cfg, work, trace=trace, overrides=overrides)
    env = {"LAPA_JOBS": json.dumps({"jobs": specs, "pause": pause, "reset_mid": reset_mid,
                                    "progress": str(work / "progress"),
                                    "idle_cycles": idle_cycles})}
    watcher = _Progress(work / "progress", sys.stderr) if progress is not False else None
    if watcher:
        print(f"RTL backend (cocotb): generating and building the accelerator ({simulator}), "
              f"{len(jobs)} job(s)", file=sys.stderr, flush=True)
        watcher.start()
    try:
        name, text = verilog or top_verilog(cfg)
        run_cocotb(text, name, "sim.top", simulator=simulator, config=cfg, env=env,
                   waves=waves or False, own_dump=verilog is not None)
    finally:
        if watcher:
            watcher.stop.set()
            watcher.join()
    results = []
    for inputs, lay, spec in zip(jobs, layouts, specs):
        out, counters = read_result(spec["result"], inputs, lay)
        if verilog is not None:   # a gate-level run: where its job sits in the VCD
            with np.load(spec["result"]) as res:
                counters["t_start_ps"] = int(res["t_start_ps"])
        results.append((out, counters))
    return results
