"""`build.py demo`: the main job on the default configuration (what setup runs last)."""

import os

from ..backends import run_backend
from ..errors import UserError
from ..report import output_folder
from ..summary import layer_summary
from ..vectors import load_vectors, save_npz


def register(sub):
    p = sub.add_parser("demo", help="the main job on the default configuration", description=__doc__)
    p.add_argument("--out", default="build/demo", help="output folder (default build/demo)")
    p.add_argument("--seq-len", type=int, default=256, help="L of the example layer (default 256)")
    p.set_defaults(func=run)


def run(args):
    from . import example

    if not 1 <= args.seq_len <= 65536:
        raise UserError(f"--seq-len = {args.seq_len}: out of range, allowed 1..65536")
    with output_folder(args.out, "--out") as tmp:   # nothing left behind if a step fails
        vec = os.path.join(tmp, "example.npz")
        example.run(_example_args(vec, args.seq_len))
        inputs = load_vectors(vec)
        out = run_backend("golden", inputs)
        save_npz(os.path.join(tmp, "golden.npz"), out)
    print(layer_summary(inputs, out))
    print(f"wrote {os.path.join(args.out, 'example.npz')} and {os.path.join(args.out, 'golden.npz')}")


def _example_args(path, seq_len):
    import argparse

    from . import example

    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    example.register(sub)
    return p.parse_args(["example", path, "--seq-len", str(seq_len)])
