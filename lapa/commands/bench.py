"""`build.py bench golden|rtl`: benchmarks that print figures and write a JSON record (never pass/fail).

`golden`: seconds per head of the NumPy model. `rtl`: one layer (default SmolLM2-shaped: D = 576,
dh = 64, H = 9, Hkv = 3) through the generated accelerator at each L: end-to-end cycles against
the ideal of the configured PE counts, busy cycles per unit, memory stalls, wall time, and whether
every output equals the golden model's. `--predictor NAME` (SPEC 8, default lapa): the layer's
predictor and, for `rtl`, the predictor generated into the accelerator's predictor slot.
"""

import platform
import time

from ..cliargs import LAYER_OPTIONS, check_layer_options, ordered_int_list
from ..config import PREDICTORS
from ..errors import UserError
from ..report import check_output_file, markdown_table, write_json


def _bench_golden(args):
    from golden.example import example_layer
    from golden.model import run_layer

    rows, record = [], []
    for L in args.lengths or (512, 1024, 2048, 4096):
        cal = example_layer(L, args.d_model, args.head_dim, 1, 1, seed=L, predictor=args.predictor)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = run_layer(cal.x, cal.wq[0], cal.wk[0], cal.wv[0], cal.arith)
            times.append(time.perf_counter() - t0)
        best = min(times)
        rec = {"seq_len": L, "d_model": args.d_model, "head_dim": args.head_dim, "predictor": args.predictor,
               "seconds_per_head": best, "heads_per_second": 1.0 / best,
               "mask_density": float(out["mask"].sum() / out["round_candidates"][0][0])}
        record.append(rec)
        rows.append((L, f"{best:.3f}", f"{1 / best:.2f}", f"{rec['mask_density']:.1%}"))
        print(f"  L={L}: {best:.3f} s/head", flush=True)
    print(markdown_table(("L", "s / head", "heads / s", "mask density"), rows))
    return {"benchmark": "golden", "machine": platform.machine(), "results": record}


def _bench_rtl(args):
    import numpy as np

    from golden.example import example_layer
    from golden.model import run_layer
    from lapa.vectors import LayerInputs
    from host.job import hw_for_layer, ideal_cycles
    from host.rtl import run_rtl_layer

    rows, record = [], []
    for L in args.lengths or (256,):
        cal = example_layer(L, args.d_model, args.head_dim, args.heads, args.kv_heads, seed=L,
                            predictor=args.predictor)
        inputs = LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
        hw = hw_for_layer(inputs.shape, predictor=args.predictor)
        print(f"  L={L}: generating, building and simulating (this takes minutes)", flush=True)
        t0 = time.perf_counter()
        out = run_rtl_layer(inputs)
        wall = time.perf_counter() - t0
        gold = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
        exact = all(np.array_equal(out[k], gold[k]) for k in
                    ("q_hat", "k_hat", "q", "k", "v", "mask", "key_needed", "probs", "o"))
        spec, execm = ideal_cycles(hw, inputs.shape, int(out["round_candidates"].sum()),
                                   int(out["mask"].sum()), int(out["key_needed"].sum()))
        cycles = int(out["cycles"])
        rec = {"seq_len": L, "d_model": args.d_model, "head_dim": args.head_dim, "heads": args.heads,
               "kv_heads": args.kv_heads, "predictor": args.predictor, "hardware": {k: getattr(hw, k) for k in (
                   "max_seq_len", "pea_lanes", "peb_lanes", "mac_rows", "mac_cols", "av_lanes", "predictor")},
               "cycles": cycles, "cycles_spec": int(out["cycles_spec"]), "cycles_exec": int(out["cycles_exec"]),
               "cycles_stall": int(out["cycles_stall"]), "ideal_spec": round(spec), "ideal_exec": round(execm),
               "ideal_overlapped": round(max(spec, execm)), "kv_rows": int(out["kv_rows"]),
               "wall_seconds": round(wall, 1), "bit_exact": exact}
        record.append(rec)
        rows.append((L, f"{cycles:,}", f"{rec['cycles_spec']:,}", f"{rec['cycles_exec']:,}",
                     f"{rec['cycles_stall']:,}", f"{round(spec):,}", f"{round(execm):,}",
                     f"{cycles / max(spec, execm):.2f}", f"{wall:.0f}", "yes" if exact else "NO"))
        print(f"  L={L}: {cycles:,} cycles, {wall:.0f} s wall, bit-exact: {exact}", flush=True)
    print(markdown_table(("L", "cycles", "spec busy", "exec busy", "stall", "ideal spec", "ideal exec",
                          "cycles / ideal", "wall s", "= golden"), rows))
    return {"benchmark": "rtl", "machine": platform.machine(), "results": record}


BENCHES = {"golden": _bench_golden, "rtl": _bench_rtl}


def register(sub):
    p = sub.add_parser("bench", help="benchmarks: print figures and write a JSON record",
                       description=__doc__)
    p.add_argument("target", choices=tuple(BENCHES))
    p.add_argument("--lengths", type=ordered_int_list, default=None,
                   help="sequence lengths (default golden 512,1024,2048,4096; rtl 256)")
    p.add_argument("--n-heads", "--heads", dest="heads", type=int, default=9,
                   help="rtl: query heads (default 9; --heads is the old name)")
    p.add_argument("--n-kv-heads", "--kv-heads", dest="kv_heads", type=int, default=3,
                   help="rtl: KV heads (default 3; --kv-heads is the old name)")
    p.add_argument("--d-model", type=int, default=576, help="D (default 576)")
    p.add_argument("--head-dim", type=int, default=64, help="dh (default 64)")
    p.add_argument("--predictor", choices=PREDICTORS, default="lapa",
                   help="SPEC 8 predictor of the layer (rtl: also the one generated; default lapa)")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    p.add_argument("--json", default=None, help="record path (default reports/bench-TARGET.json)")
    p.set_defaults(func=run)


def _check(args, path):
    """Refuse what the benchmark cannot run, before any work (SPEC 6 limits; the RTL's shape rules)."""
    lengths = args.lengths if args.lengths is not None else (1,)
    if not lengths:
        raise UserError("--lengths: no length given")
    for L in lengths:
        if not 1 <= L <= LAYER_OPTIONS["seq_len"][2]:
            raise UserError(f"--lengths: L = {L} out of range, allowed 1..{LAYER_OPTIONS['seq_len'][2]}")
    if not 1 <= args.repeat <= 1000:
        raise UserError(f"--repeat = {args.repeat}: must be in 1..1000")
    check_layer_options({k: getattr(args, k) for k in ("d_model", "head_dim", "heads", "kv_heads")},
                        lowest={"head_dim": 2})
    if args.target == "rtl":
        from host.job import hw_for_layer

        for L in args.lengths or (256,):
            hw_for_layer((L, args.d_model, args.head_dim, args.heads, args.kv_heads), predictor=args.predictor)
    if args.json is not None:   # the default reports/ folder is made when the record is written
        check_output_file(path, what="--json")


def run(args):
    path = args.json or f"reports/bench-{args.target}.json"
    _check(args, path)
    record = BENCHES[args.target](args)
    write_json(path, record)
    print(f"wrote {path}")
