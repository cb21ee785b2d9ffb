"""`build.py compare [--predictors lapa,dense,...] [--seq-len L,...] [IN.npz] [--from-eval DIR]
--energy-table TABLE.json [--synth DIR] [--margin-nats D --round-bits B --eval-ctx C] --out DIR`:
designs side by side on the same layer.

Per design (keyed by predictor) and sequence length: cycles, logic and SRAM area, Fmax, energy
per layer and its split (speculation, execution, memory, control; off-chip apart), energy x
delay, the PPL change of `build.py eval` (`--from-eval`), and every ratio to dense. The work of
each design is the golden model's on IN.npz (an exported SmolLM2 layer, `build.py eval
--export-vectors`), the first L tokens for each `--seq-len`; energies come from the measured
table (`build.py energy`), areas and Fmax from a synthesis report of the target configuration
(`build.py synth --out DIR`). lapa is the generated accelerator; dense is its execution unit
with every pair kept and no speculation unit; sanger, topk and symlo are reported as not built
until their hardware exists (issue 14). Writes compare.md, compare.json and plots.
"""

import os

from ..errors import UserError

PREDICTORS = ("lapa", "dense", "sanger", "topk", "symlo")
BUILT = ("lapa", "dense")


def register(sub):
    p = sub.add_parser("compare", help="designs side by side: area, cycles, energy, PPL",
                       description=__doc__)
    p.add_argument("input", metavar="IN.npz", nargs="?", default=None,
                   help="layer vector file (an exported SmolLM2 layer)")
    p.add_argument("--predictors", default=",".join(PREDICTORS))
    p.add_argument("--seq-len", default=None, help="comma-separated lengths (default the file's)")
    p.add_argument("--from-eval", metavar="DIR", default=None,
                   help="a build.py eval output folder (report.json): PPL change per design")
    p.add_argument("--energy-table", metavar="TABLE.json", default=None,
                   help="energy per action (build.py energy --out DIR writes DIR/table.json)")
    p.add_argument("--synth", metavar="DIR", default=None,
                   help="build.py synth report folder of the target configuration (area, Fmax)")
    p.add_argument("--margin-nats", type=float, default=8.0,
                   help="the lapa setting of --from-eval to report: margin delta in nats "
                        "(default 8; the layer file's own margins set the work)")
    p.add_argument("--round-bits", default=None,
                   help="the lapa setting of --from-eval: MRSA slices, e.g. 6,2 (default the layer "
                        "file's; 4,4 without IN.npz)")
    p.add_argument("--eval-ctx", type=int, default=None,
                   help="the context length of the --from-eval results to report (needed when "
                        "the report holds several)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run)


def _lengths(text, file_len):
    if text is None:
        return [file_len]
    try:
        out = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--seq-len = {text!r}: expected comma-separated integers") from None
    bad = [v for v in out if not 1 <= v <= file_len]
    if bad or not out:
        raise UserError(f"--seq-len = {text!r}: each must be in 1..{file_len} (the file's length)")
    return out


def _read_json(path, what):
    import json

    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read {what} ({exc})") from None


def run(args):
    from energy.compare import compare, write_compare
    from energy.table import load_table

    preds = tuple(p.strip() for p in args.predictors.split(",") if p.strip())
    bad = [p for p in preds if p not in PREDICTORS]
    if bad or not preds:
        raise UserError(f"--predictors = {args.predictors!r}: choose from {', '.join(PREDICTORS)}")
    if args.input is None and args.from_eval is None:
        raise UserError("give IN.npz (the layer to compare on) and/or --from-eval DIR")
    if args.input is not None and args.energy_table is None:
        raise UserError("--energy-table is required with IN.npz (build.py energy writes one)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UserError(f"--out = {args.out!r}: exists and is not a folder")
    if not args.margin_nats > 0:
        raise UserError(f"--margin-nats = {args.margin_nats}: must be > 0")
    bits = None
    if args.round_bits is not None:
        try:
            bits = tuple(int(v) for v in args.round_bits.split(",") if v.strip())
        except ValueError:
            bits = ()
        if not bits or any(b < 1 for b in bits):
            raise UserError(f"--round-bits = {args.round_bits!r}: expected comma-separated "
                            "positive integers, e.g. 6,2")
    table = load_table(args.energy_table) if args.energy_table else None
    synth = _read_json(os.path.join(args.synth, "report.json"), "a synthesis report") \
        if args.synth else None
    if synth is not None and synth.get("schema") != "lapa-synth/1":
        raise UserError(f"{args.synth}/report.json: not a build.py synth report")
    evalrep = _read_json(os.path.join(args.from_eval, "report.json"), "an eval report") \
        if args.from_eval else None
    inputs = None
    lengths = []
    if args.input is not None:
        from ..vectors import load_vectors

        inputs = load_vectors(args.input)
        lengths = _lengths(args.seq_len, inputs.shape[0])
        have = tuple(inputs.arith.round_bits)
        if bits is not None and bits != have:
            raise UserError(f"--round-bits = {args.round_bits!r}: {args.input} computes with "
                            f"round bits {','.join(map(str, have))}")
    record = compare(preds, inputs, lengths, table, synth, evalrep, margin_nats=args.margin_nats,
                     round_bits=bits, eval_ctx=args.eval_ctx,
                     source={"input": args.input, "energy_table": args.energy_table,
                             "synth": args.synth, "from_eval": args.from_eval})
    paths = write_compare(record, args.out)
    with open(paths["md"]) as f:
        print(f.read())
    print("wrote " + ", ".join(paths.values()))
