"""`build.py perf [IN.npz]`: the cycle model's prediction of one job on the generated accelerator.

Cycles (CYCLES_TOTAL, _SPEC, _EXEC, _STALL), PAIRS_ROUND*, KV_ROWS and per-block action counts
(PEA / PEB beats, pairs per round, MACs, A.V MACs, softmax elements, on-chip buffer reads and
writes, AXI bytes read and written) of a production job (CTRL.trace = 0), from the golden
model's masks of the vector file (or of `build.py example`'s layer for the shape options given),
on the hardware the RTL backend would build for it (hardware options override it). A file with
predictor = dense (SPEC 8) gives the dense design: the same execution unit, every pair of C_1,
no speculation unit; predictor = symlo lapa's schedule on symlo's masks; sanger / topk their
designs (the execution unit's pre-phase feeding the predictor, `perf.exact`). `--json FILE`
writes the record; its top-level `cycles` is CYCLES_TOTAL.
The model follows the RTL's state machines and is checked against the C++ harness
(tests/test_perf.py prints its error table).
"""

import dataclasses

from ..cliargs import LAYER_OPTIONS, add_config_args, check_layer_options
from ..config import HardwareConfig
from ..errors import UserError
from ..report import check_output_file, write_json


# the designs the cycle model schedules: lapa, symlo (lapa's unit and schedule; its x-LOE is
# combinational, no cycle: only its masks differ), dense (the execution unit alone), sanger and
# topk (the execution unit's pre-phase feeding their predictor, `perf.exact`)
SCHEDULED = ("lapa", "dense", "symlo", "sanger", "topk")


def register(sub):
    p = sub.add_parser("perf", help="predict cycles and action counts of a job (cycle model)",
                       description=__doc__)
    p.add_argument("input", metavar="IN.npz", nargs="?", default=None,
                   help="a vector file (default: build.py example's layer of the shape options)")
    p.add_argument("--seq-len", type=int, default=None,
                   help="L of the example layer (default 128); its D, dh, H, Hkv are --d-model, --head-dim, "
                   "--n-heads, --n-kv-heads (default 576, 64, 9, 3)")
    p.add_argument("--predictor", choices=SCHEDULED, default=None,
                   help="example layer's predictor (default lapa)")
    p.add_argument("--seed", type=int, default=None, help="example layer's seed (default 0)")
    p.add_argument("--json", metavar="FILE", default=None, help="write the record as JSON")
    p.add_argument("--sram", action="store_true",
                   help="also list the generated design's buffers and SRAM bits (elaborates it: seconds)")
    add_config_args(p, arith=False, exclude=("predictor",))
    p.set_defaults(func=run)


EXAMPLE_DEFAULTS = {"seq_len": 128, "d_model": 576, "head_dim": 64, "heads": 9, "kv_heads": 3}
# the example layer's D, dh, H, Hkv are the hardware options of the same names
HW_SHAPE = {"d_model": "d_model", "head_dim": "head_dim", "heads": "n_heads", "kv_heads": "n_kv_heads"}


def _inputs(args):
    example = {k: getattr(args, HW_SHAPE.get(k, k)) for k in (*EXAMPLE_DEFAULTS, "predictor", "seed")}
    if args.input is not None:
        given = [f"--{k.replace('_', '-')}" for k in ("seq_len", "predictor", "seed") if example[k] is not None]
        if given:
            raise UserError(f"{', '.join(given)}: shape options make an example layer; "
                            f"not allowed with the vector file {args.input}")
        from ..vectors import load_vectors, warn_ignored

        inputs = load_vectors(args.input)
        warn_ignored(args.input, inputs)
        return inputs
    shape = {k: (example[k] if example[k] is not None else v) for k, v in EXAMPLE_DEFAULTS.items()}
    check_layer_options(shape)
    seed = 0 if args.seed is None else args.seed
    if seed < 0:
        raise UserError(f"--seed = {seed}: must be >= 0")
    from golden.example import example_layer
    from ..vectors import LayerInputs

    cal = example_layer(shape["seq_len"], shape["d_model"], shape["head_dim"], shape["heads"], shape["kv_heads"],
                        seed=seed, predictor=args.predictor or "lapa")
    return LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)


def run(args):
    if args.json:
        check_output_file(args.json, [args.input] if args.input else [], what="--json")
    inputs = _inputs(args)
    if inputs.arith.predictor not in SCHEDULED:
        raise UserError(f"predictor = {inputs.arith.predictor!r}: the cycle model schedules the "
                        f"{', '.join(SCHEDULED)} designs only")
    from host.job import hw_for_layer
    from perf import predict, profile_from_inputs

    hw_options = {f.name: getattr(args, f.name) for f in dataclasses.fields(HardwareConfig)
                  if f.name != "predictor" and getattr(args, f.name) is not None}
    hw = hw_for_layer(inputs.shape, overrides=hw_options, predictor=inputs.arith.predictor)
    rec = predict(profile_from_inputs(inputs), hw)
    rec["hardware"] = dataclasses.asdict(hw)
    if args.sram:
        from lapa.config import LapaConfig
        from perf.sram import buffers, sram_bits

        rows = buffers(LapaConfig(hw=hw))
        total, per = sram_bits(rows)
        rec["sram"] = {"bits": total, "by_unit": per, "buffers": rows,
                       "source": "the elaborated design's memories; SRAM = a write port and >= 256 bits"}
    print(_summary(rec))
    if args.json:
        write_json(args.json, rec)
        print(f"wrote {args.json}")


def _summary(rec):
    s, a = rec["shape"], rec["actions"]
    lines = [f"cycle model: L={s['L']} D={s['D']} dh={s['dh']} H={s['H']} Hkv={s['Hkv']} "
             f"predictor={rec['predictor']}",
             f"cycles {rec['cycles']:,} (speculation busy {rec['cycles_spec']:,}, execution busy "
             f"{rec['cycles_exec']:,}); ideal: speculation {rec['ideal_spec']:,}, MAC array "
             f"{rec['ideal_exec']:,}, A.V array {rec['ideal_av']:,}; {rec['cycles_over_ideal']:.2f}x the "
             f"bottleneck's ({rec['bottleneck']})",
             f"PEA beats {a['pea_beats']:,}, PEB beats {a['peb_beats']:,}, pairs per round "
             f"{', '.join(f'{v:,}' for v in a['peb_pairs_per_round']) or '-'}, KV rows {a['kv_rows']:,}",
             f"MACs {a['macs']:,} ({a['mac_beats']:,} beats), A.V MACs {a['av_macs']:,}, softmax elements "
             f"{a['softmax_elements']:,}",
             f"AXI: {a['axi_read_total']:,} bytes read, {a['axi_written_total']:,} written",
             f"model time {rec['model_seconds']} s ({rec['model_cpu_seconds']} s CPU)"]
    if "sram" in rec:
        sr = rec["sram"]
        lines.append(f"SRAM {sr['bits']:,} bits (" + ", ".join(f"{k} {v:,}" for k, v in sorted(sr["by_unit"].items()))
                     + "); largest: " + ", ".join(f"{b['path']} {b['bits']:,}" for b in sr["buffers"][:4]))
    return "\n".join(lines)
