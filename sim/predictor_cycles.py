"""Cycle figures of the baseline predictor blocks (Verilator, full rate, no stalls): a benchmark,
not a test. `python -m sim.predictor_cycles [--max-len L] [--out FILE.json]` builds `rtl.predictors.sanger`
(lanes = peb_lanes) and `rtl.predictors.topk` at the default SmolLM2-shaped head (dh 64) and prints the
cycles of one maximum-length causal and encoder job each, per row, next to LAPA's ideal PEB
round-1 figure |C_1| * dh / peb_lanes (the rate the Sanger lanes are sized for)."""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from lapa.config import HardwareConfig, LapaConfig
from sim.blocks import run_block


def measure(max_len):
    cfg = LapaConfig(hw=HardwareConfig(max_seq_len=max_len))
    hw = cfg.hw
    dh, lanes = hw.head_dim, hw.peb_lanes
    out = {"max_len": max_len, "head_dim": dh, "lanes": lanes, "score_width": hw.score_width}
    pairs = {"causal=1": max_len * (max_len + 1) // 2, "causal=0": max_len * max_len}
    for name in ("sanger", "topk"):   # both built by the registry from cfg, as the generator does
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "cycles.json"
            run_block(name, cfg, testcase="cycles", env={"CYCLES_OUT": path})
            got = json.loads(path.read_text())
        out[name] = {job: {"cycles": c, "per_row": round(c / max_len, 1),
                           "lapa_peb_round1_per_row": round(pairs[job] * dh / lanes / max_len, 1)}
                     for job, c in got.items()}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rec = measure(args.max_len)
    for name in ("sanger", "topk"):
        for job, r in rec[name].items():
            print(f"{name:7s} L={args.max_len} {job}: {r['cycles']} cycles, {r['per_row']} per row "
                  f"(LAPA PEB round 1 ideal {r['lapa_peb_round1_per_row']} per row)")
    text = json.dumps(rec, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
