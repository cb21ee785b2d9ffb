"""`build.py demo`: the main job on the default configuration (what setup runs last)."""

import os

from ..backends import run_backend
from ..summary import layer_summary
from ..vectors import load_vectors, save_npz


def register(sub):
    p = sub.add_parser("demo", help="the main job on the default configuration", description=__doc__)
    p.add_argument("--out", default="build/demo", help="output folder (default build/demo)")
    p.add_argument("--seq-len", type=int, default=256)
    p.set_defaults(func=run)


def run(args):
    from . import example

    os.makedirs(args.out, exist_ok=True)
    vec = os.path.join(args.out, "example.npz")
    res = os.path.join(args.out, "golden.npz")
    parser_args = _example_args(vec, args.seq_len)
    example.run(parser_args)
    inputs = load_vectors(vec)
    out = run_backend("golden", inputs)
    save_npz(res, out)
    print(layer_summary(inputs, out))
    print(f"wrote {res}")


def _example_args(path, seq_len):
    import argparse

    from . import example

    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    example.register(sub)
    return p.parse_args(["example", path, "--seq-len", str(seq_len)])
