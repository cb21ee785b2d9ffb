"""`build.py example OUT.npz`: write a random but well-scaled vector file (SPEC section 6)."""

from ..cliargs import LAYER_OPTIONS, check_layer_options, ordered_int_list
from ..config import PREDICTORS
from ..errors import UserError
from ..report import check_output_file
from ..vectors import arith_to_arrays, save_npz


def _floats(text):
    import argparse

    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers") from None


def register(sub):
    p = sub.add_parser("example", help="write a random, calibrated example vector file",
                       description=__doc__)
    p.add_argument("out", metavar="OUT.npz")
    p.add_argument("--seq-len", type=int, default=128, help="L, tokens (default 128)")
    p.add_argument("--d-model", type=int, default=576, help="D (default 576)")
    p.add_argument("--head-dim", type=int, default=64, help="dh (default 64)")
    p.add_argument("--n-heads", "--heads", dest="heads", type=int, default=9,
                   help="H, query heads (default 9; --heads is the old name)")
    p.add_argument("--n-kv-heads", "--kv-heads", dest="kv_heads", type=int, default=3,
                   help="Hkv, KV heads (default 3; --kv-heads is the old name)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--causal", type=int, choices=(0, 1), default=1, help="causal mask (default 1)")
    p.add_argument("--rope", type=int, choices=(0, 1), default=0, help="RoPE on q and k (default 0)")
    p.add_argument("--rope-base", type=int, default=10000, help="RoPE base (default 10000)")
    p.add_argument("--pos0", type=int, default=0, help="position of the first token (default 0)")
    p.add_argument("--predictor", choices=PREDICTORS, default="lapa",
                   help="how the mask is obtained, SPEC 8 (default lapa)")
    p.add_argument("--sg-prob", type=float, default=2e-3,
                   help="sanger: keep threshold as a probability, calibrated to sg_thresh (default 0.002)")
    p.add_argument("--topk-keep", type=float, default=0.25,
                   help="topk: keys kept per row as a fraction of L, calibrated to topk_k (default 0.25)")
    p.add_argument("--topk-k", type=int, default=None, help="topk: keys kept per row (overrides --topk-keep)")
    p.add_argument("--ddf-mode", choices=("range", "margin"), default="margin",
                   help="DDF rule (default margin: the best measured setting, see README)")
    p.add_argument("--round-bits", type=ordered_int_list, default=(6, 2),
                   help="MRSA bits per round (default 6,2: the best measured setting, see README)")
    p.add_argument("--eta", type=_floats, default=None,
                   help="eta per round as a fraction 0..1, for ddf-mode range; calibrated to the "
                   "register round_eta (default 0.5 each)")
    p.add_argument("--margin-nats", type=_floats, default=None,
                   help="margin per round in nats, for ddf-mode margin (default 6 each)")
    p.add_argument("--w-lo-mode", choices=("floor", "round"), default="round",
                   help="LO coding of the weights (default round)")
    p.add_argument("--w-lo-mant-bits", type=int, choices=(0, 1), default=0,
                   help="mantissa bits of the weights' LO codes (default 0)")
    p.add_argument("--sm-frac-bits", type=int, default=6, help="softmax fraction bits (default 6)")
    p.set_defaults(func=run)


def _check_shape(args):
    check_layer_options({k: getattr(args, k) for k in LAYER_OPTIONS})
    if args.rope and args.head_dim % 2:
        raise UserError(f"--head-dim = {args.head_dim}: must be even with --rope 1")
    if not 0.0 <= args.sg_prob <= 1.0:
        raise UserError(f"--sg-prob = {args.sg_prob}: must be a probability in 0..1")
    if not 0.0 < args.topk_keep <= 1.0:
        raise UserError(f"--topk-keep = {args.topk_keep}: must be in (0, 1]")
    if args.seed < 0:
        raise UserError(f"--seed = {args.seed}: must be >= 0")
    if args.topk_k is not None and not 1 <= args.topk_k <= 65536:
        raise UserError(f"--topk-k = {args.topk_k}: out of range, allowed 1..65536")


def _check_arith(args):
    """The SPEC 5 values given directly, refused before calibration (which would otherwise try them)."""
    from ..config import ArithConfig

    n = len(args.round_bits)
    ArithConfig(round_bits=args.round_bits, round_eta=(0,) * n, round_margin=(0,) * n,
                sm_frac_bits=args.sm_frac_bits, rope_base=args.rope_base, pos0=args.pos0,
                w_lo_mode=args.w_lo_mode, w_lo_mant_bits=args.w_lo_mant_bits)


def run(args):
    check_output_file(args.out)
    _check_shape(args)
    _check_arith(args)
    n = len(args.round_bits)
    eta = args.eta or (0.5,) * n
    margin = args.margin_nats or (6.0,) * n
    for name, vals in (("--eta", eta), ("--margin-nats", margin)):
        if len(vals) != n:
            raise UserError(f"{name} has {len(vals)} values, expected {n} (one per round of --round-bits)")
    if any(not 0.0 <= e <= 1.0 for e in eta):
        raise UserError(f"--eta = {','.join(map(str, eta))}: each must be in 0..1")
    if any(not 0.0 <= d < float("inf") for d in margin):
        raise UserError(f"--margin-nats = {','.join(map(str, margin))}: each must be a finite number >= 0")
    try:
        cal = _calibrate(args, eta, margin)
    except ValueError as exc:   # a value the calibration cannot represent (named in the message)
        raise UserError(f"cannot calibrate: {exc}") from None
    arrays = {"x": cal.x, "wq": cal.wq, "wk": cal.wk, "wv": cal.wv, **arith_to_arrays(cal.arith)}
    if args.heads == 1 and args.kv_heads == 1:
        arrays.update(wq=cal.wq[0], wk=cal.wk[0], wv=cal.wv[0])
    save_npz(args.out, arrays)
    print(f"wrote {args.out}: L={args.seq_len} D={args.d_model} dh={args.head_dim} "
          f"H={args.heads} Hkv={args.kv_heads} predictor={args.predictor} seed={args.seed}")


def _calibrate(args, eta, margin):
    from golden.example import example_layer

    return example_layer(args.seq_len, args.d_model, args.head_dim, args.heads, args.kv_heads,
                        seed=args.seed, causal=bool(args.causal), rope=bool(args.rope),
                        rope_base=args.rope_base, pos0=args.pos0, ddf_mode=args.ddf_mode,
                        round_bits=args.round_bits, eta=eta, margin_nats=margin,
                        w_lo_mode=args.w_lo_mode, w_lo_mant_bits=args.w_lo_mant_bits,
                        sm_frac_bits=args.sm_frac_bits, predictor=args.predictor,
                        sg_prob=args.sg_prob, topk_keep=args.topk_keep, topk_k=args.topk_k)
