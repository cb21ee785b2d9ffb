"""The RTL backend of `build.py run`: a vector file through the generated accelerator (cocotb).

The host side of a job, as a driver would do it: `job_image` lays the inputs out in memory
(`lapa.memlayout`: weights in the units' orders, LO codes, the RoPE table) and lists the register
writes; the cocotb test `sim.top` loads the image into cocotbext-axi's AXI RAM, programs the
registers through its AXI-Lite master, starts the job, waits for the interrupt and dumps the
output buffers and counters; `decode_outputs` turns them back into SPEC section 6 outputs. One
Verilator build serves every job of a hardware configuration.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from golden.loe import lo_encode
from golden.rope import rope_table
from lapa.config import ConfigError, HardwareConfig, LapaConfig
from lapa.errors import UserError
from lapa.memlayout import MemoryLayout, exec_tiles, expand_probs, lo_bytes, pea_groups
from lapa.vectors import SCALAR_KEYS, LayerInputs, arith_to_arrays

__all__ = ["hw_for_layer", "check_fits", "cycle_bound", "job_image", "decode_outputs", "run_rtl_jobs", "run_rtl_layer",
           "COUNTERS"]

BUS_BYTES = 8
COUNTERS = ("cycles_total", "cycles_spec", "cycles_exec", "cycles_stall", "pairs_round1",
            "pairs_round2", "pairs_round3", "pairs_round4", "kv_rows")


def hw_for_layer(shape, base: HardwareConfig | None = None, given=()) -> HardwareConfig:
    """The hardware for a layer of shape (L, D, dh, H, Hkv): the defaults, with the shape's
    sizes and lane counts that divide it, except the fields named in `given` (kept from `base`)."""
    L, D, dh, H, Hkv = shape
    base = base or HardwareConfig()
    fit = {"d_model": D, "head_dim": dh, "n_heads": H, "n_kv_heads": Hkv,
           "max_seq_len": max(16, 1 << max(0, L - 1).bit_length()),
           "pea_lanes": math.gcd(base.pea_lanes, dh), "peb_lanes": math.gcd(base.peb_lanes, dh),
           "mac_cols": math.gcd(base.mac_cols, D),
           "av_lanes": math.gcd(base.av_lanes, dh)}
    fit["mac_rows"] = math.gcd(base.mac_rows, dh // fit["mac_cols"]) if dh % fit["mac_cols"] == 0 else 1
    try:
        return base.replace(**{k: v for k, v in fit.items() if k not in given})
    except ConfigError as exc:
        raise UserError(f"the RTL backend cannot hold this layer: {exc}") from None


def check_fits(shape, hw: HardwareConfig):
    """Refuse a layer the generated hardware cannot hold, naming the limit."""
    from rtl.top import top_shape

    L, D, dh, H, Hkv = shape
    if D != hw.d_model:
        raise UserError(f"the layer's D = {D} differs from the hardware's d_model = {hw.d_model}")
    if dh != hw.head_dim:
        raise UserError(f"the layer's head dim = {dh} differs from the hardware's head_dim = {hw.head_dim}")
    if L > hw.max_seq_len:
        raise UserError(f"the layer's L = {L} exceeds the hardware's max_seq_len = {hw.max_seq_len}")
    if H > hw.n_heads:
        raise UserError(f"the layer's H = {H} exceeds the hardware's n_heads = {hw.n_heads}")
    try:
        top_shape(hw)
    except ValueError as exc:
        raise UserError(f"the RTL backend cannot generate this hardware: {exc}") from None


def _heads(w):
    w = np.asarray(w)
    return w if w.ndim == 3 else w[None]


def cycle_bound(shape, hw: HardwareConfig) -> int:
    """A generous cycle limit for one job (4x every unit working alone on dense masks): past it
    the testbench reports a hang instead of simulating forever."""
    L, D, dh, H, Hkv = shape
    spec = (H + Hkv) * L * D * (1 + 2 * dh // hw.pea_lanes) + H * L * L * hw.max_rounds * dh // hw.peb_lanes
    mac = (H * L * D * dh + 2 * Hkv * L * D * dh + H * L * L * dh) // (hw.mac_rows * hw.mac_cols)
    return 4 * (spec + mac + H * L * L * dh // hw.av_lanes) + 200_000


def job_image(inputs: LayerInputs, hw: HardwareConfig, trace=True):
    """(layout, memory image bytes, [(register, value)]) for one job."""
    from rtl.regmap import register_map

    arith = inputs.arith
    L, D, dh, H, Hkv = inputs.shape
    wq, wk, wv = (_heads(w) for w in (inputs.wq, inputs.wk, inputs.wv))
    lay = MemoryLayout(L, D, dh, H, Hkv, bus_bytes=BUS_BYTES)
    image = bytearray(lay.size)

    def put(name, array):
        raw = lay.encode(name, array)
        image[lay[name].addr:lay[name].addr + len(raw)] = raw

    put("x", inputs.x)
    for name, w in (("wq", wq), ("wk", wk), ("wv", wv)):
        put(name, exec_tiles(w, hw.mac_rows, hw.mac_cols))
    for name, w in (("wq_lo", wq), ("wk_lo", wk)):
        put(name, pea_groups(lo_bytes(lo_encode(w, arith.w_lo_mode, arith.w_lo_mant_bits)), hw.pea_lanes))
    if arith.rope:
        c, s = rope_table(L, dh, arith.rope_base, arith.pos0)
        put("rope", np.concatenate([c, s], axis=1))

    regs = {r.name: r for r in register_map(hw)}
    writes = [("SEQ_LEN", L), ("HEADS", regs["HEADS"].pack(n_heads=H, n_kv_heads=Hkv))]
    for name in lay.buffers:
        reg = {"o": "OUT_ADDR"}.get(name, f"{name.upper()}_ADDR")
        if reg in regs:
            writes.append((reg, lay[name].addr))
    arrays = arith_to_arrays(arith)                 # enumerations as 0 / 1, as in vector files
    writes += [(name.upper(), int(arrays[name])) for name in SCALAR_KEYS]
    R = arith.n_rounds
    writes.append(("ROUND_BITS", regs["ROUND_BITS"].pack(
        n_rounds=R, **{f"b{r + 1}": arith.round_bits[r] if r < R else 0 for r in range(4)})))
    for r in range(4):
        writes.append((f"ROUND_ETA{r + 1}", arith.round_eta[r] if r < R else 0))
        writes.append((f"ROUND_MARGIN{r + 1}", arith.round_margin[r] if r < R else 0))
    writes.append(("CTRL", regs["CTRL"].pack(irq_enable=1, trace=int(trace))))
    return lay, bytes(image), writes


def decode_outputs(lay: MemoryLayout, raw: dict, single: bool):
    """SPEC 6 outputs from the output buffers' bytes (`raw`: buffer name -> bytes)."""
    L = lay["x"].shape[0]
    out = {name: lay.decode(name, raw[name]) for name in ("o", "q_hat", "k_hat", "q", "k", "v")}
    out["mask"] = lay.unpack_bits(lay.decode("mask", raw["mask"]), L)
    out["key_needed"] = lay.unpack_bits(lay.decode("key_needed", raw["key_needed"]), L)
    out["probs"] = expand_probs(lay.decode("probs", raw["probs"]), out["mask"])
    if single:
        out = {k: v[0] for k, v in out.items()}
    return out


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


def run_rtl_jobs(jobs, cfg: LapaConfig, *, simulator="verilator", waves=None, pause=0.0,
                 reset_mid=False, progress=None, trace=True, overrides=None):
    """Run several `LayerInputs` (all of `cfg.hw`'s shape limits) on one build; returns a list of
    (outputs, counters) in order. `pause`: probability of a stall on every AXI channel of the
    RAM model (random read latency, back-pressure). `reset_mid`: the first job is reset halfway
    and run again. `overrides`: register writes ({name: value}) after each job's own, to test
    the hardware's refusals; a refused job raises `UserError` naming the ERROR code."""
    from rtl.generate import to_verilog
    from rtl.top import LapaTop
    from sim.runner import run_cocotb

    work = Path(tempfile.mkdtemp(prefix="lapa-rtl-"))
    specs, layouts = [], []
    for n, inputs in enumerate(jobs):
        check_fits(inputs.shape, cfg.hw)
        lay, image, writes = job_image(inputs, cfg.hw, trace=trace)
        writes += list((overrides or {}).items())
        path = work / f"job{n}.npz"
        np.savez(path, image=np.frombuffer(image, np.uint8))
        outputs = {name: [lay[name].addr, lay[name].size] for name in MemoryLayout.OUTPUTS}
        specs.append({"image": str(path), "writes": writes, "outputs": outputs,
                      "result": str(work / f"result{n}.npz"), "heads": inputs.shape[3],
                      "max_cycles": cycle_bound(inputs.shape, cfg.hw)})
        layouts.append(lay)
    env = {"LAPA_JOBS": json.dumps({"jobs": specs, "pause": pause, "reset_mid": reset_mid,
                                    "progress": str(work / "progress")})}
    watcher = _Progress(work / "progress", sys.stderr) if progress is not False else None
    if watcher:
        print(f"RTL backend: generating and building the accelerator ({simulator}), "
              f"{len(jobs)} job(s)", file=sys.stderr, flush=True)
    if watcher:
        watcher.start()
    try:
        verilog = to_verilog(LapaTop(cfg), "lapa_top")
        run_cocotb(verilog, "lapa_top", "sim.top", simulator=simulator, config=cfg, env=env,
                   waves=waves or False)
    finally:
        if watcher:
            watcher.stop.set()
            watcher.join()
    results = []
    for inputs, lay, spec in zip(jobs, layouts, specs):
        with np.load(spec["result"]) as res:
            raw = {name: res[name].tobytes() for name in MemoryLayout.OUTPUTS}
            counters = {name: int(res[name]) for name in COUNTERS}
            status, error = int(res["status"]), int(res["error"])
        if status & 0b100:
            from rtl.regmap import ERROR_CODES

            code = {v: k for k, v in ERROR_CODES.items()}.get(error, "?")
            raise UserError(f"the accelerator refused the job: ERROR = {error} ({code})")
        results.append((decode_outputs(lay, raw, np.asarray(inputs.wq).ndim == 2), counters))
    return results


def _accounting(inputs, out, counters):
    """`round_candidates` (|C_1|..|C_R| summed over heads, one row: the hardware counts all heads
    together) and SPEC 7's work accounting from the RTL's outputs and counters."""
    from golden.accounting import work_accounting

    L, D, dh, H, Hkv = inputs.shape
    arith = inputs.arith
    c1 = L * (L + 1) // 2 if arith.causal else L * L
    counts = [H * c1] + [counters[f"pairs_round{r}"] for r in range(1, arith.n_rounds)]
    mask = np.asarray(out["mask"]).reshape(-1, L, L)
    needed = np.asarray(out["key_needed"]).reshape(-1, L)
    work = work_accounting(n_tokens=L, d_model=D, head_dim=dh, n_heads=H, n_kv_heads=Hkv, pairs_c1=c1,
                           key_needed_counts=needed.sum(axis=1), mask_nnz=mask.sum(axis=(1, 2)),
                           cand_counts=[counts])
    return {"round_candidates": np.asarray([counts], dtype=np.int64),
            **{k: np.asarray(v) for k, v in work.items()}}


def run_rtl_layer(inputs: LayerInputs, *, hw: HardwareConfig | None = None, given=(), waves=None,
                  simulator="verilator", progress=None):
    """`build.py run --backend rtl`: SPEC 6 outputs plus `cycles` and the counters."""
    t0 = time.perf_counter()
    hw = hw_for_layer(inputs.shape, hw, given)
    cfg = LapaConfig(hw=hw)
    [(out, counters)] = run_rtl_jobs([inputs], cfg, simulator=simulator, waves=waves, progress=progress)
    out["cycles"] = np.asarray(counters["cycles_total"], dtype=np.int64)
    for name, val in counters.items():
        out[name] = np.asarray(val, dtype=np.int64)
    out.update(_accounting(inputs, out, counters))
    out["wall_seconds"] = np.asarray(time.perf_counter() - t0)
    return out
