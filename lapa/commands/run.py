"""`build.py run --backend golden|rtl IN.npz OUT.npz`: every output of SPEC section 6 for a vector file.

The RTL backend generates the accelerator for the file's shapes (hardware options override the
fitted shape; a layer the hardware cannot hold is refused before simulation), simulates it on the
C++ Verilator harness (`--engine cocotb`: cocotb with Python AXI models) and adds `cycles` and the
performance counters to the outputs.
"""

import dataclasses

from ..backends import BACKENDS, run_backend
from ..cliargs import add_config_args
from ..config import HardwareConfig
from ..summary import layer_summary
from ..report import check_output_file
from ..vectors import load_vectors, save_npz, warn_ignored


def register(sub):
    p = sub.add_parser("run", help="run a vector file through a backend", description=__doc__)
    p.add_argument("input", metavar="IN.npz")
    p.add_argument("output", metavar="OUT.npz")
    p.add_argument("--backend", choices=tuple(BACKENDS), default="golden")
    p.add_argument("--waves", metavar="FILE.fst", default=None,
                   help="RTL backend: dump waveforms to this file")
    p.add_argument("--engine", choices=("harness", "cocotb"), default="harness",
                   help="RTL backend: the C++ Verilator harness (default) or cocotb with Python AXI models")
    p.add_argument("--simulator", choices=("verilator", "icarus"), default=None,
                   help="RTL backend, cocotb engine: simulator (default verilator)")
    p.add_argument("--quiet", action="store_true", help="no summary")
    add_config_args(p, arith=False)
    p.set_defaults(func=run)


def run(args):
    check_output_file(args.output, [args.input])
    inputs = load_vectors(args.input)
    warn_ignored(args.input, inputs)
    options = {}
    if args.backend == "rtl":
        given = tuple(f.name for f in dataclasses.fields(HardwareConfig) if getattr(args, f.name) is not None)
        options = {"waves": args.waves, "simulator": args.simulator, "engine": args.engine, "given": given,
                   "hw": HardwareConfig(**{k: getattr(args, k) for k in given})}
    elif args.waves:
        options = {"waves": args.waves}
    out = run_backend(args.backend, inputs, **options)
    save_npz(args.output, out)
    if not args.quiet:
        print(layer_summary(inputs, out))
        print(f"wrote {args.output} ({args.backend} backend)")
