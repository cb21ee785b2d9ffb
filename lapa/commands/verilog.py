"""`build.py verilog [--block NAME|all] [config options] OUT_DIR`: readable Verilog per block.

Each block is written to `OUT_DIR/<block>.v` as module `<block>` (the whole accelerator is
block `top`, the same module the RTL backend simulates), with progress lines while it works.
"""

import json
import os
import sys
import time

from ..cliargs import add_config_args, config_from_args
from ..config import config_to_dict
from ..errors import UserError
from ..report import output_folder, write_text_atomic


def register(sub):
    p = sub.add_parser("verilog", help="generate Verilog for a block (or all blocks)",
                       description=__doc__)
    p.add_argument("out_dir", metavar="OUT_DIR", nargs="?")
    p.add_argument("--block", default="all", help="block name, or 'all' (default); "
                   "`--block list` prints the known blocks")
    p.add_argument("--lint", action="store_true", help="also run verilator --lint-only -Wall")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args):
    from rtl.registry import blocks, get_block

    if args.block == "list":
        for info in blocks().values():
            print(f"{info.name:14s} {info.unit:12s} {info.doc}")
        return 0
    if not args.out_dir:
        raise UserError("OUT_DIR is required (the folder to write the Verilog into)")
    cfg = config_from_args(args)
    chosen = list(blocks().values()) if args.block == "all" else [get_block(args.block)]
    with output_folder(args.out_dir, "OUT_DIR") as tmp:   # checks the path before any work   # all files or none
        failures = _write(args, cfg, chosen, tmp)
    if failures:
        raise UserError("verilator lint is not clean (the Verilog was written):\n" + "\n".join(failures[:40]))


def _write(args, cfg, chosen, out_dir):
    from rtl.generate import to_verilog

    failures = []
    t_all = time.perf_counter()
    for n, info in enumerate(chosen):
        tag = f"[verilog {n + 1}/{len(chosen)}]"
        t0 = time.perf_counter()
        text = to_verilog(info.factory(cfg), info.name,
                          progress=lambda msg: print(f"{tag} {msg}", file=sys.stderr, flush=True))
        write_text_atomic(os.path.join(out_dir, f"{info.name}.v"), text)
        print(f"wrote {os.path.join(args.out_dir, info.name + '.v')} (module {info.name}, {text.count(chr(10))} lines, "
              f"{len(text) / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s)", flush=True)
        if args.lint:
            from sim.lint import lint_verilog

            issues = lint_verilog(text, info.name)
            print(f"  lint: {'clean' if not issues else f'{len(issues)} warnings'}")
            failures += [f"{info.name}: {ln}" for ln in issues]
    write_text_atomic(os.path.join(out_dir, "config.json"),
                      json.dumps(config_to_dict(cfg), indent=2) + "\n")
    # The register map documents, from the same source as the register bank's RTL.
    from rtl.soc.regmap import regmap_c_header, regmap_markdown, register_map

    regs = register_map(cfg.hw)
    write_text_atomic(os.path.join(out_dir, "regmap.md"), regmap_markdown(regs))
    write_text_atomic(os.path.join(out_dir, "lapa_regs.h"), regmap_c_header(regs))
    print(f"wrote {args.out_dir}/regmap.md and lapa_regs.h (register map)")
    if len(chosen) > 1:
        print(f"{len(chosen)} blocks in {time.perf_counter() - t_all:.1f} s")
    return failures
