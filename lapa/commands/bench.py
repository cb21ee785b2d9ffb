"""`build.py bench golden`: benchmarks that print figures and write a JSON record (never pass/fail)."""

import platform
import time

from ..cliargs import ordered_int_list
from ..report import markdown_table, write_json


def _bench_golden(args):
    from golden.example import example_layer
    from golden.model import run_layer

    rows, record = [], []
    for L in args.lengths:
        cal = example_layer(L, args.d_model, args.head_dim, 1, 1, seed=L)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = run_layer(cal.x, cal.wq[0], cal.wk[0], cal.wv[0], cal.arith)
            times.append(time.perf_counter() - t0)
        best = min(times)
        rec = {"seq_len": L, "d_model": args.d_model, "head_dim": args.head_dim,
               "seconds_per_head": best, "heads_per_second": 1.0 / best,
               "mask_density": float(out["mask"].sum() / out["round_candidates"][0][0])}
        record.append(rec)
        rows.append((L, f"{best:.3f}", f"{1 / best:.2f}", f"{rec['mask_density']:.1%}"))
        print(f"  L={L}: {best:.3f} s/head", flush=True)
    print(markdown_table(("L", "s / head", "heads / s", "mask density"), rows))
    return {"benchmark": "golden", "machine": platform.machine(), "results": record}


BENCHES = {"golden": _bench_golden}


def register(sub):
    p = sub.add_parser("bench", help="benchmarks: print figures and write a JSON record",
                       description=__doc__)
    p.add_argument("target", choices=tuple(BENCHES))
    p.add_argument("--lengths", type=ordered_int_list, default=(512, 1024, 2048, 4096))
    p.add_argument("--d-model", type=int, default=576)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    p.add_argument("--json", default=None, help="record path (default reports/bench-TARGET.json)")
    p.set_defaults(func=run)


def run(args):
    record = BENCHES[args.target](args)
    path = args.json or f"reports/bench-{args.target}.json"
    write_json(path, record)
    print(f"wrote {path}")
