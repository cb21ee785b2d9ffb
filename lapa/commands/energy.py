"""`build.py energy VECTORS.npz [--seq-len 16 --d-model 32 ...] [--validate-seed N] --out DIR`:
energy per action of every block from a gate-level run of the whole accelerator.

The layer file (an exported SmolLM2 layer, `build.py eval --export-vectors`) is sliced to the
hardware's shape (`energy.stimulus`); the mapped netlist runs it at gate level (Icarus, OSU018
cells), and the same slice at margin delta 4 (the two calibrate energy per action and per job
cycle of each block), then a random layer (`golden.example`, seed --validate-seed) is predicted by the
per-action model and measured on the same netlist. Writes DIR/table.json (cached in
build/energy per configuration, liberty, clock and stimulus) and DIR/energy.md. Slow: about
100 gate-level cycles per second on the small default here.
"""

import json
import os

from ..cliargs import add_config_args, config_from_args
from ..errors import UserError

SMALL = {"d_model": 32, "head_dim": 8, "max_seq_len": 16, "n_heads": 2, "n_kv_heads": 1,
         "pea_lanes": 2, "peb_lanes": 2, "mac_rows": 2, "mac_cols": 2, "av_lanes": 2}
SECOND_MARGIN = 4.0   # margin delta (nats) of the second calibration job


def register(sub):
    from flows.tools import DEFAULT_LIBERTY

    p = sub.add_parser("energy", help="energy per action from gate-level activity",
                       description=__doc__)
    p.add_argument("vectors", metavar="VECTORS.npz")
    p.add_argument("--seq-len", type=int, default=None, help="tokens of the slice (default max)")
    p.add_argument("--validate-seq-len", type=int, default=10)
    p.add_argument("--validate-seed", type=int, default=5)
    p.add_argument("--liberty", default=DEFAULT_LIBERTY)
    p.add_argument("--out", required=True)
    add_config_args(p, arith=False, exclude=("predictor",))
    p.set_defaults(func=run)


def run(args):
    import dataclasses

    from energy.report import energy_markdown
    from energy.stimulus import smollm2_slice, stimulus_name
    from energy.table import measure
    from golden.example import example_layer
    from lapa.config import HardwareConfig, LapaConfig
    from lapa.report import write_text_atomic
    from lapa.vectors import LayerInputs
    from flows.tools import check_liberty

    check_liberty(args.liberty)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(HardwareConfig)
             if f.name != "predictor" and getattr(args, f.name, None) is not None}
    cfg = LapaConfig(hw=HardwareConfig(**{**SMALL, **given}))
    hw = cfg.hw
    L = hw.max_seq_len if args.seq_len is None else args.seq_len
    if not 1 <= L <= hw.max_seq_len:
        raise UserError(f"--seq-len = {L}: must be in 1..{hw.max_seq_len}")
    if not 1 <= args.validate_seq_len <= hw.max_seq_len:
        raise UserError(f"--validate-seq-len = {args.validate_seq_len}: must be in 1..{hw.max_seq_len}")
    if args.validate_seed < 0:
        raise UserError(f"--validate-seed = {args.validate_seed}: must be >= 0")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UserError(f"--out = {args.out!r}: exists and is not a folder")
    shape = dict(seq_len=L, d_model=hw.d_model, head_dim=hw.head_dim, n_heads=hw.n_heads,
                 n_kv_heads=hw.n_kv_heads)
    a = smollm2_slice(args.vectors, **shape)
    # a second calibration job: the same slice at a smaller margin (more pairs pruned), so
    # the energy per action and per job cycle of each block can be told apart
    a2 = smollm2_slice(args.vectors, **shape, margin_nats=SECOND_MARGIN)
    cal = example_layer(args.validate_seq_len, hw.d_model, hw.head_dim, hw.n_heads, hw.n_kv_heads,
                        seed=args.validate_seed, rope=True, ddf_mode="margin",
                        margin_nats=(8.0, 8.0))
    b = LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
    stim = (stimulus_name(args.vectors, a.shape) + f"; second calibration job: the same at "
            f"margin delta {SECOND_MARGIN:g}; validation: example_layer(L="
            f"{args.validate_seq_len}, H={hw.n_heads}, Hkv={hw.n_kv_heads}, seed "
            f"{args.validate_seed}, rope, margin 8)")
    table = measure(cfg, [a, a2, b], stim, liberty=args.liberty, calibration=2)
    os.makedirs(args.out, exist_ok=True)
    write_text_atomic(os.path.join(args.out, "table.json"),
                      json.dumps(table, indent=1, default=float) + "\n")
    md = energy_markdown(table)
    write_text_atomic(os.path.join(args.out, "energy.md"), md)
    print(md)
    print(f"wrote {args.out}/table.json, {args.out}/energy.md")
