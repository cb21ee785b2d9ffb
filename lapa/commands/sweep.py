"""`build.py sweep SWEEP.toml [--out DIR] [--workers N | --scheduler ADDR]`: a design-space sweep
on Dask. Every point of the file's axes runs its tasks (synth, work, cycles, eval, energy), each
result stored under a content hash of (configuration, task, code version) in DIR/points/, so a
rerun or a crash resumes without redoing finished jobs; then DIR/results.jsonl, report.md,
report.json and the Pareto plots (area against cycles, energy and work against PPL change).
`--from-eval EVAL_DIR` takes PPL figures from a `build.py eval` report (matched by predictor,
DDF setting and the point's ctx) for points the sweep has no eval result for. See sweeps/*.toml
and the README.

  build.py sweep sweeps/lanes.toml --workers 2                   a local cluster of 2 workers
  build.py sweep sweeps/lanes.toml --scheduler tcp://HOST:8786   workers started elsewhere
"""

from __future__ import annotations

import argparse
import os

from ..errors import UserError
from ..report import check_output_file


def register(sub):
    p = sub.add_parser("sweep", help="design-space sweep on Dask (synthesis, work, cycles, eval, energy)",
                       description=__doc__)
    p.add_argument("sweep", metavar="SWEEP.toml")
    p.add_argument("--out", default=None, help="results folder (default: the file's sweep.out, "
                   "else reports/sweep-NAME)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2,
                       help="local cluster: worker processes, one thread each (default 2)")
    where.add_argument("--scheduler", metavar="ADDR", default=None,
                       help="a running Dask scheduler, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--dashboard", default=":8787", metavar="ADDR",
                   help="local cluster: dashboard address (default :8787; :0 takes a free port)")
    p.add_argument("--from-eval", metavar="DIR", default=None,
                   help="a build.py eval output folder (report.json): PPL change per predictor and setting")
    p.add_argument("--report-only", action="store_true",
                   help="run no job: write the report of the results stored in --out so far")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def _check_out(out, inputs):
    if os.path.isdir(out):
        check_output_file(os.path.join(out, "report.json"), inputs, what="--out")
    else:
        check_output_file(out.rstrip(os.sep) or out, inputs, what="--out")


def _check_address(addr):
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        _, loc = parse_address(addr)
        parse_host_port(loc)
    except ValueError as exc:
        raise UserError(f"--scheduler = {addr!r}: not a scheduler address like tcp://HOST:8786 ({exc})") from None


def _read_eval(folder):
    import json

    from dse.report import eval_lookup

    path = os.path.join(folder, "report.json")
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError) as exc:
        raise UserError(f"--from-eval = {folder}: cannot read {path} ({exc})") from None
    try:
        return path, eval_lookup(rep, path)
    except ValueError as exc:
        raise UserError(f"--from-eval = {folder}: {exc}") from None


def run(args):
    from dse.report import write_report
    from dse.runner import run_sweep
    from dse.spec import load_sweep

    if args.workers < 1:
        raise UserError(f"--workers = {args.workers}: must be >= 1")
    sweep = load_sweep(args.sweep)
    out = args.out or sweep.out or os.path.join("reports", f"sweep-{sweep.name}")
    _check_out(out, [args.sweep])
    if "synth" in sweep.tasks and not args.scheduler and sweep.fixed["liberty"] is None:
        from flows.tools import DEFAULT_LIBERTY, check_liberty

        check_liberty(DEFAULT_LIBERTY)
    if args.scheduler:
        _check_address(args.scheduler)
    from_eval = _read_eval(args.from_eval) if args.from_eval else None
    pts, jobs, cells, records, meta = run_sweep(sweep, out, args.workers, args.scheduler, args.dashboard,
                                                args.quiet, run=not args.report_only)
    write_report(sweep, out, pts, cells, records, meta, from_eval)
    if not args.quiet:
        with open(os.path.join(out, "report.md")) as f:
            print(f.read())
    print(f"wrote {out}/results.jsonl, report.md, report.json and the Pareto plots "
          f"({meta['failed']} failed job(s)" + (f", {meta['not_run']} not run" if meta["not_run"] else "") + ")")
    return 1 if meta["failed"] else 0
