"""`build.py formal [--all] [--only NAMES] [--keep] [--solver yices|z3] [--out DIR]`: the formal proofs of
formal/catalog.py through SymbiYosys, as report.md and report.json.

By default the quick proofs (those in the default tests); `--all` adds the deep ones. Exit 1 if
any verdict is not the expected one (a proof that does not pass, a mutant not caught).
"""

import os

from ..errors import UserError
from ..report import check_output_file


def register(sub):
    p = sub.add_parser("formal", help="formal proofs (SymbiYosys) with a report", description=__doc__)
    p.add_argument("--all", action="store_true", help="also the deep (slow) proofs")
    p.add_argument("--only", default=None, help="comma-separated proof names (see --list)")
    p.add_argument("--list", action="store_true", help="list the proofs and exit")
    p.add_argument("--solver", choices=("yices", "z3"), default=None,
                   help="SMT solver for every proof (default: each proof's own, yices)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per proof (default none)")
    p.add_argument("--out", default="reports/formal", help="report folder (default reports/formal)")
    p.add_argument("--keep", action="store_true",
                   help="keep the rows of an earlier report in --out for the proofs not run now")
    p.set_defaults(func=run)


def run(args):
    from formal.catalog import ASSUMED, NOT_PROVEN, proofs
    from formal.report import run_catalog, write_report

    every = proofs()
    if args.list:
        for p in every:
            print(f"{p.name:36s} {p.mode:5s} {p.depth:3d} {'slow' if p.slow else 'quick':5s} {p.what}")
        return 0
    if args.timeout is not None and not args.timeout > 0:
        raise UserError(f"--timeout = {args.timeout}: must be > 0")
    if not args.out:
        raise UserError("--out is empty")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UserError(f"--out = {args.out}: is a file, expected a folder")
    if os.path.isdir(args.out):
        check_output_file(os.path.join(args.out, "report.md"), what="--out")
    chosen = every if args.all else [p for p in every if not p.slow]
    if args.only:
        names = [n for n in args.only.split(",") if n]
        known = {p.name: p for p in every}
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise UserError(f"--only = {args.only!r}: unknown proof {', '.join(unknown) or '(none given)'}; "
                            "see `build.py formal --list`")
        chosen = [known[n] for n in names]
    results = run_catalog(chosen, timeout=args.timeout, solver=args.solver)
    rec = write_report(results, args.out, NOT_PROVEN, keep=args.keep, order=[p.name for p in every],
                       assumed=ASSUMED)
    print(f"wrote {os.path.join(args.out, 'report.md')} and report.json: "
          f"{sum(p['ok'] for p in rec['proofs'])}/{len(rec['proofs'])} as expected")
    return 0 if rec["all_ok"] else 1
