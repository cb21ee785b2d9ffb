"""`build.py run --backend golden IN.npz OUT.npz`: every output of SPEC section 6 for a vector file."""

from ..backends import BACKENDS, run_backend
from ..summary import layer_summary
from ..vectors import load_vectors, save_npz


def register(sub):
    p = sub.add_parser("run", help="run a vector file through a backend", description=__doc__)
    p.add_argument("input", metavar="IN.npz")
    p.add_argument("output", metavar="OUT.npz")
    p.add_argument("--backend", choices=tuple(BACKENDS), default="golden")
    p.add_argument("--waves", metavar="FILE.fst", default=None,
                   help="RTL backend: dump waveforms to this file")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=run)


def run(args):
    inputs = load_vectors(args.input)
    options = {"waves": args.waves} if args.waves else {}
    out = run_backend(args.backend, inputs, **options)
    save_npz(args.output, out)
    if not args.quiet:
        print(layer_summary(inputs, out))
        print(f"wrote {args.output} ({args.backend} backend)")
