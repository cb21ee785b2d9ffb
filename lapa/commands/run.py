"""`build.py run --backend golden|rtl IN.npz OUT.npz`: every output of SPEC section 6 for a vector file.

The RTL backend generates the accelerator for the file's shapes (hardware options override the
fitted shape; a layer the hardware cannot hold is refused before simulation), simulates it on the
C++ Verilator harness (`--engine cocotb`: cocotb with Python AXI models) and adds `cycles` and the
performance counters to the outputs.
"""

import dataclasses
import sys

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
    p.add_argument("--engine", choices=("harness", "cocotb"), default=None,
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
    hw_options = {f.name: getattr(args, f.name) for f in dataclasses.fields(HardwareConfig)
                  if getattr(args, f.name) is not None}
    from host.job import hw_for_layer

    if args.backend == "rtl" or hw_options:   # hardware options are validated even where ignored
        hw = hw_for_layer(inputs.shape, overrides=hw_options,
                          predictor=inputs.arith.predictor if args.backend == "rtl" else None)
    if args.backend == "rtl":
        options = {"waves": args.waves, "simulator": args.simulator, "engine": args.engine or "harness",
                   "hw": hw, "given": tuple(f.name for f in dataclasses.fields(HardwareConfig))}
        if args.waves:
            check_output_file(args.waves, [args.input, args.output], what="--waves")
    else:
        ignored = [f"--{k.replace('_', '-')}" for k in hw_options]
        ignored += ["--waves"] * bool(args.waves) + ["--simulator"] * bool(args.simulator)
        ignored += ["--engine"] * bool(args.engine)
        if ignored:
            print(f"warning: {', '.join(ignored)} ignored by the {args.backend} backend "
                  "(they configure the RTL backend)", file=sys.stderr)
    out = run_backend(args.backend, inputs, **options)
    save_npz(args.output, out)
    if not args.quiet:
        print(layer_summary(inputs, out))
        print(f"wrote {args.output} ({args.backend} backend)")
