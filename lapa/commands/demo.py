"""`build.py demo`: the main job on the default configuration (what setup runs last).

Four steps, a few minutes in all: (1) an example layer (L = --seq-len, SmolLM2-shaped) through
the golden model, with a summary; (2) the default accelerator's Verilog (`verilog --block top`);
(3) a small vector file (L = --rtl-seq-len) through that accelerator on the C++ Verilator harness,
every output compared with golden, and its cycles; (4) an ASIC synthesis (Yosys, OSU 0.18 um,
OpenSTA) of a small configuration, summarized. Everything goes to --out; `--no-hardware` stops
after step 1.
"""

import contextlib
import json
import os
import sys
import time

import numpy as np

from ..backends import run_backend
from ..config import HardwareConfig, LapaConfig
from ..errors import UserError
from ..report import check_output_folder, write_text_atomic
from ..summary import layer_summary
from ..vectors import load_vectors, save_npz

OUTPUTS = ("o", "q_hat", "k_hat", "q", "k", "v", "mask", "key_needed", "probs")
# the configuration of tests/test_synth.py: every unit, synthesized in about a minute
SMALL_SYNTH = ["--d-model", "32", "--head-dim", "8", "--max-seq-len", "16", "--n-heads", "2",
               "--n-kv-heads", "1", "--pea-lanes", "2", "--peb-lanes", "2", "--mac-rows", "2",
               "--mac-cols", "2", "--av-lanes", "2"]


def register(sub):
    p = sub.add_parser("demo", help="the main job on the default configuration", description=__doc__)
    p.add_argument("--out", default="build/demo", help="output folder (default build/demo)")
    p.add_argument("--seq-len", type=int, default=256, help="L of the golden example (default 256)")
    p.add_argument("--rtl-seq-len", type=int, default=16,
                   help="L of the vector file run on the RTL (default 16)")
    p.add_argument("--no-hardware", action="store_true", help="only the golden example")
    p.set_defaults(func=run)


def _step(n, total, what):
    print(f"\n== demo {n}/{total}: {what}", flush=True)


def run(args):
    for name in ("seq_len", "rtl_seq_len"):
        if not 1 <= getattr(args, name) <= 65536:
            raise UserError(f"--{name.replace('_', '-')} = {getattr(args, name)}: out of range, allowed 1..65536")
    if args.rtl_seq_len > HardwareConfig().max_seq_len:
        raise UserError(f"--rtl-seq-len = {args.rtl_seq_len}: above the default accelerator's max_seq_len "
                        f"= {HardwareConfig().max_seq_len}")
    check_output_folder(args.out, "--out")
    t_all = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    total = 1 if args.no_hardware else 4
    _step(1, total, f"an example layer (L = {args.seq_len}) through the golden model")
    vec = os.path.join(args.out, "example.npz")
    res = os.path.join(args.out, "golden.npz")
    _command("example", [vec, "--seq-len", str(args.seq_len)])
    inputs = load_vectors(vec)
    out = run_backend("golden", inputs)
    save_npz(res, out)
    print(layer_summary(inputs, out))
    print(f"wrote {res}")
    if args.no_hardware:
        return 0
    hw = HardwareConfig()
    _step(2, total, "the default accelerator's Verilog")
    _write_top(os.path.join(args.out, "verilog"), hw)
    _step(3, total, f"a small vector file (L = {args.rtl_seq_len}) through the default accelerator "
                    "(C++ Verilator harness) against golden")
    failed = _rtl_check(args, hw)
    _step(4, total, "ASIC synthesis of a small configuration (Yosys, OSU 0.18 um, OpenSTA)")
    _synth_summary(os.path.join(args.out, "synth"))
    print(f"\ndemo done in {time.perf_counter() - t_all:.0f} s; outputs in {args.out}/")
    return 1 if failed else 0


def _write_top(folder, hw):
    """The accelerator's Verilog as `build.py verilog --block top` writes it (the same text the
    next step simulates: `top_verilog` keeps it for this process)."""
    from rtl.generate import top_verilog

    t0 = time.perf_counter()
    name, text = top_verilog(LapaConfig(hw=hw), progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.v")
    write_text_atomic(path, text)
    print(f"wrote {path} (module {name}, {text.count(chr(10)):,} lines, {len(text) / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s): D={hw.d_model} dh={hw.head_dim} max L={hw.max_seq_len} "
          f"H={hw.n_heads} Hkv={hw.n_kv_heads}, {hw.pea_lanes} PEA / {hw.peb_lanes} PEB lanes, "
          f"{hw.mac_rows}x{hw.mac_cols} MACs, {hw.av_lanes} AV lanes")


def _rtl_check(args, hw):
    """Run the small file on `hw` (kept whole, not fitted to the file); False when bit-exact."""
    vec = os.path.join(args.out, "rtl-example.npz")
    _command("example", [vec, "--seq-len", str(args.rtl_seq_len), "--seed", "1"])
    inputs = load_vectors(vec)
    fields = tuple(hw.__dataclass_fields__)
    rtl = run_backend("rtl", inputs, hw=hw, given=fields)
    gold = run_backend("golden", inputs)
    save_npz(os.path.join(args.out, "rtl.npz"), rtl)
    bad = [name for name in OUTPUTS if not np.array_equal(rtl[name], gold[name])]
    print(layer_summary(inputs, rtl))
    print(f"RTL run: {float(rtl['wall_seconds']):.0f} s including generation and build")
    if bad:
        print(f"RTL differs from golden in: {', '.join(bad)}", file=sys.stderr)
        return True
    print(f"bit-exact against golden: {', '.join(OUTPUTS)} all equal")
    return False


def _synth_summary(out):
    """`build.py synth` of SMALL_SYNTH into `out` (its report in out/report.md), a few lines here."""
    from flows.tools import DEFAULT_LIBERTY

    if not os.path.isfile(DEFAULT_LIBERTY):
        print(f"skipped: no liberty at {DEFAULT_LIBERTY} (bash setup.sh installs it)")
        return
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "synth.log")
    t0 = time.perf_counter()
    with open(log, "w") as f, contextlib.redirect_stdout(f):
        _command("synth", ["--target", "asic", "--out", out, *SMALL_SYNTH])
    with open(os.path.join(out, "report.json")) as f:
        print(synth_lines(json.load(f)))
    print(f"synthesized in {time.perf_counter() - t0:.0f} s; full report {out}/report.md")


def synth_lines(r) -> str:
    """Configuration, one line per block of an ASIC report (area, of it SRAM, cells, Fmax), the
    speculation / execution share."""
    hw = r["config"]["hw"]
    lines = [f"configuration: D={hw['d_model']} dh={hw['head_dim']} max L={hw['max_seq_len']} "
             f"H={hw['n_heads']} Hkv={hw['n_kv_heads']}, {hw['pea_lanes']} PEA / {hw['peb_lanes']} PEB lanes; "
             f"clock {r['clock_ns']:g} ns"]
    for name, b in r["blocks"].items():
        fmax = b["timing"].get("fmax_mhz")
        lines.append(f"  {name:14s} {b['area_um2']:>11,.0f} um^2 (SRAM {b.get('sram_area_um2') or 0:>9,.0f})"
                     f"  {b['cells']:>6,} cells  Fmax {f'{fmax:.0f} MHz' if fmax else '-'}")
    t = r.get("timing") or {}
    if t.get("fmax_mhz"):
        lines.append(f"worst block {t['worst_block']}: Fmax {t['fmax_mhz']:.0f} MHz")
    share = r.get("share")
    if share:
        lines.append(f"speculation {share['speculation_pct']:.1f} % / execution {share['execution_pct']:.1f} % "
                     f"of their summed {share['measure']} (the paper: 52 % / 48 %)")
    return "\n".join(lines)


def _command(name, argv):
    """Run another build.py command with these arguments (its own parser and checks)."""
    import argparse
    import importlib

    module = importlib.import_module(f"{__package__}.{name}")
    p = argparse.ArgumentParser()
    module.register(p.add_subparsers())
    args = p.parse_args([name, *argv])
    return args.func(args)
