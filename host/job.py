"""One job of the accelerator from the host's side: hardware fit, memory image, registers, outputs.

`job_image` lays the inputs out in memory (`lapa.memlayout`: weights in the units' orders, LO
codes, the RoPE table) and lists the register writes of the job (SPEC section 5 values, buffer
addresses, CTRL last); `decode_outputs` turns the output buffers' bytes back into SPEC section 6
outputs; `check_status` turns a refused job's STATUS / ERROR into a `UserError`. Nothing here
depends on how the accelerator is simulated.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from golden.loe import lo_encode
from golden.rope import rope_table
from lapa.config import ConfigError, HardwareConfig
from lapa.fields import MAX_ROUNDS, ROUNDS_PARAM, registered, round_field
from lapa.errors import UserError
from lapa.memlayout import MemoryLayout, exec_tiles, expand_probs, lo_bytes, pea_groups
from lapa.vectors import LayerInputs

__all__ = ["BUS_BYTES", "COUNTERS", "WIDE_COUNTERS", "RESULT_REGISTERS", "STATUS_ERROR", "hw_for_layer",
           "check_fits", "cycle_bound", "ideal_cycles", "job_image", "param_writes", "prepare_jobs",
           "decode_outputs", "job_outputs", "counter_values", "check_status", "accounting"]

BUS_BYTES = 8
COUNTERS = ("cycles_total", "cycles_spec", "cycles_exec", "cycles_stall",
            *(f"pairs_round{r + 1}" for r in range(MAX_ROUNDS)), "kv_rows")
# counters wider than a register: NAME holds bits 31:0, NAME_HI the rest (rtl.soc.regmap)
WIDE_COUNTERS = COUNTERS[:-1]
# read back after every job: STATUS / ERROR / FAULT_ADDR, then the counters (register names)
RESULT_REGISTERS = (("STATUS", "ERROR", "FAULT_ADDR") + tuple(c.upper() for c in COUNTERS)
                    + tuple(f"{c.upper()}_HI" for c in WIDE_COUNTERS))
STATUS_ERROR = 0b100


def hw_for_layer(shape, base: HardwareConfig | None = None, given=(), overrides=None,
                 predictor=None) -> HardwareConfig:
    """The hardware for a layer of shape (L, D, dh, H, Hkv): the defaults, with the shape's
    sizes and lane counts that divide it (and `predictor`, the layer's SPEC 8 predictor, when
    given), except the fields named in `given` (kept from `base`) or set in `overrides` (a dict of
    user options, validated here against the layer first, so an error names the option given
    rather than a default it collided with)."""
    L, D, dh, H, Hkv = shape
    base = base or HardwareConfig()
    overrides = dict(overrides or {})
    kept = {name: getattr(base, name) for name in given}
    _check_options(shape, overrides)
    fit = {"d_model": D, "head_dim": dh, "n_heads": H, "n_kv_heads": Hkv,
           "max_seq_len": max(16, 1 << max(0, L - 1).bit_length()),
           "pea_lanes": math.gcd(base.pea_lanes, dh), "peb_lanes": math.gcd(base.peb_lanes, dh),
           "mac_cols": math.gcd(base.mac_cols, D),
           "av_lanes": math.gcd(base.av_lanes, dh)}
    fit["mac_rows"] = math.gcd(base.mac_rows, dh // fit["mac_cols"]) if dh % fit["mac_cols"] == 0 else 1
    if predictor is not None:
        fit["predictor"] = predictor
    fields = {**fit, **kept, **overrides}
    try:
        hw = HardwareConfig(**{**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, **fields})
    except ConfigError as exc:
        named = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in overrides.items())
        if predictor is not None and "predictor" not in overrides and "predictor" not in kept:
            named = ", ".join(filter(None, (f"the file's predictor {predictor}", named)))
        fitted = "; the other sizes are fitted to the layer" if overrides else ""
        raise UserError(f"the RTL backend cannot build hardware for this layer"
                        f"{' with ' + named if named else ''}{fitted}: {exc}") from None
    check_fits(shape, hw)
    return hw


def _fit_rules(shape):
    """What a layer of `shape` needs of the hardware: (field, holds(value), the layer's side as
    checked against a built HardwareConfig, the same as said to a user who set the option)."""
    L, D, dh, H, Hkv = shape
    return (("d_model", lambda v: v == D, f"D = {D} differs from", f"the layer's D is {D}"),
            ("head_dim", lambda v: v == dh, f"head dim = {dh} differs from", f"the layer's head dim is {dh}"),
            ("max_seq_len", lambda v: v >= L, f"L = {L} exceeds", f"the layer has L = {L} tokens"),
            ("n_heads", lambda v: v >= H, f"H = {H} exceeds", f"the layer has H = {H} query heads"))


def _check_options(shape, overrides):
    """Hardware options the layer cannot run on, named as the user gave them."""
    for name, ok, _, why in _fit_rules(shape):
        value = overrides.get(name)
        if value is not None and not (isinstance(value, int) and ok(value)):
            raise UserError(f"--{name.replace('_', '-')} {value}: {why}")


def check_fits(shape, hw: HardwareConfig):
    """Refuse a layer the generated hardware cannot hold, naming the limit."""
    for name, ok, layer, _ in _fit_rules(shape):
        if not ok(getattr(hw, name)):
            raise UserError(f"the layer's {layer} the hardware's {name} = {getattr(hw, name)}")


def _heads(w):
    w = np.asarray(w)
    return w if w.ndim == 3 else w[None]


def cycle_bound(shape, hw: HardwareConfig) -> int:
    """A generous cycle limit for one job (4x every unit working alone on dense masks): past it
    the harness reports a hang instead of simulating forever."""
    L, D, dh, H, Hkv = shape
    spec = (H + Hkv) * L * D * (1 + 2 * dh // hw.pea_lanes) + H * L * L * hw.max_rounds * dh // hw.peb_lanes
    mac = (H * L * D * dh + 2 * Hkv * L * D * dh + H * L * L * dh) // (hw.mac_rows * hw.mac_cols)
    return 4 * (spec + mac + H * L * L * dh // hw.av_lanes) + 200_000


def ideal_cycles(hw: HardwareConfig, shape, candidates: int, mask_nnz: int, key_needed: int):
    """(speculation, execution) cycles with every PE busy: the larger of PEA shift-adds / pea_lanes
    and PEB (`candidates` = sum of |C_r| over rounds and heads) / peb_lanes (the two work side by
    side), and the MACs of projections
    and scores / the R x C array (A.V runs beside it). A lower bound, not a cycle model. A
    predictor without prediction hardware (dense) has a speculation side of 0; sanger / topk
    (`candidates` = |C_1| over heads) count their predictor and the MACs of the pre-phase."""
    L, D, dh, H, Hkv = shape
    spec = max((H + Hkv) * L * D * dh / hw.pea_lanes, candidates * dh / hw.peb_lanes)
    macs = H * L * D * dh + 2 * key_needed * D * dh + mask_nnz * dh
    if hw.predictor == "dense":
        spec = 0
    elif hw.predictor in ("sanger", "topk"):   # no PEA; sanger's 4-bit score array, topk's engine
        spec = candidates * (dh / hw.peb_lanes if hw.predictor == "sanger" else 1)
        # their pre-phase: q once more per head, k of every token, topk's scores of C_1 once more
        macs += H * L * D * dh + (Hkv * L - key_needed) * D * dh + (candidates * dh if hw.predictor == "topk" else 0)
    execm = macs / (hw.mac_rows * hw.mac_cols)
    return spec, execm


def job_image(inputs: LayerInputs, hw: HardwareConfig, trace=True):
    """(layout, memory image bytes, [(register, value)]) for one job; CTRL (without its start
    bit) is the last write."""
    from rtl.soc.regmap import register_map

    arith = inputs.arith
    L, D, dh, H, Hkv = inputs.shape
    wq, wk, wv = (_heads(w) for w in (inputs.wq, inputs.wk, inputs.wv))
    lay = MemoryLayout(L, D, dh, H, Hkv, bus_bytes=BUS_BYTES)
    image = bytearray(lay.size)

    def put(name, array):
        raw = lay.encode(name, array)
        image[lay[name].addr:lay[name].addr + len(raw)] = raw

    put("x", inputs.x)
    for name, w in (("wq", wq), ("wk", wk), ("wv", wv)):
        put(name, exec_tiles(w, hw.mac_rows, hw.mac_cols))
    for name, w in (("wq_lo", wq), ("wk_lo", wk)):
        put(name, pea_groups(lo_bytes(lo_encode(w, arith.w_lo_mode, arith.w_lo_mant_bits)), hw.pea_lanes))
    if arith.rope:
        c, s = rope_table(L, dh, arith.rope_base, arith.pos0)
        put("rope", np.concatenate([c, s], axis=1))

    regs = {r.name: r for r in register_map(hw)}
    writes = [("SEQ_LEN", L), ("HEADS", regs["HEADS"].pack(n_heads=H, n_kv_heads=Hkv))]
    for name in lay.buffers:
        reg = {"o": "OUT_ADDR"}.get(name, f"{name.upper()}_ADDR")
        if reg in regs:
            writes.append((reg, lay[name].addr))
    writes += param_writes(arith, regs)
    writes.append(("CTRL", regs["CTRL"].pack(irq_enable=1, trace=int(trace))))
    return lay, bytes(image), writes


def param_writes(arith, regs):
    """[(register, value)] of every SPEC parameter with a register (`lapa.fields.registered`):
    the scalars, ROUND_BITS (count and slices), then the other per-round registers (0 past R)."""
    writes, R = [], arith.n_rounds
    rows = registered()
    writes += [(p.name.upper(), p.encode(getattr(arith, p.name))) for p in rows if not p.per_round]
    for p in rows:
        if not p.per_round:
            continue
        values = [getattr(arith, p.name)[r] if r < R else 0 for r in range(MAX_ROUNDS)]
        if p.name == ROUNDS_PARAM:
            writes.append(("ROUND_BITS", regs["ROUND_BITS"].pack(
                n_rounds=R, **{round_field(p, r): v for r, v in enumerate(values)})))
        else:
            writes += [(f"{p.name.upper()}{r + 1}", v) for r, v in enumerate(values)]
    return writes


def prepare_jobs(jobs, hw: HardwareConfig, trace=True, overrides=None):
    """[(layout, image, writes)] for several `LayerInputs`, each checked to fit `hw` first;
    `overrides` ({register: value}) are written after each job's own writes."""
    prepared = []
    for inputs in jobs:
        check_fits(inputs.shape, hw)
        lay, image, writes = job_image(inputs, hw, trace=trace)
        prepared.append((lay, image, writes + list((overrides or {}).items())))
    return prepared


def job_outputs(inputs: LayerInputs, lay: MemoryLayout, raw: dict, regs: dict):
    """(SPEC 6 outputs, counters) of one finished job from its output buffers' bytes and the
    RESULT_REGISTERS values read back (`regs`: lower-case name -> value); a refused job raises."""
    check_status(int(regs["status"]), int(regs["error"]), int(regs.get("fault_addr", 0)))
    counters = counter_values(regs)
    return decode_outputs(lay, raw, np.asarray(inputs.wq).ndim == 2), counters


def decode_outputs(lay: MemoryLayout, raw: dict, single: bool):
    """SPEC 6 outputs from the output buffers' bytes (`raw`: buffer name -> bytes)."""
    L = lay["x"].shape[0]
    out = {name: lay.decode(name, raw[name]) for name in ("o", "q_hat", "k_hat", "q", "k", "v")}
    out["mask"] = lay.unpack_bits(lay.decode("mask", raw["mask"]), L)
    out["key_needed"] = lay.unpack_bits(lay.decode("key_needed", raw["key_needed"]), L)
    out["probs"] = expand_probs(lay.decode("probs", raw["probs"]), out["mask"])
    if single:
        out = {k: v[0] for k, v in out.items()}
    return out


def counter_values(values: dict) -> dict:
    """COUNTERS from the RESULT_REGISTERS' values (`values`: register name, either case -> int)."""
    values = {k.upper(): int(v) for k, v in values.items()}
    out = {}
    for name in COUNTERS:
        hi = values.get(f"{name.upper()}_HI", 0) if name in WIDE_COUNTERS else 0
        out[name] = values[name.upper()] | (hi << 32)
    return out


def check_status(status: int, error: int, fault_addr: int = 0):
    """A job that ended with STATUS.error: a `UserError` naming the ERROR code and what it means
    (a refusal at start, or a bus fault with the burst's address)."""
    if status & STATUS_ERROR:
        from rtl.soc.regmap import ERROR_CODES, ERROR_DOCS, FAULT_CODES

        code = {v: k for k, v in ERROR_CODES.items()}.get(error)
        if code is None:
            raise UserError(f"the accelerator ended the job with an unknown ERROR = {error}")
        if code in FAULT_CODES:
            at = f" (burst at {fault_addr:#x})" if code not in ("BUS_PENDING",) else ""
            raise UserError(f"the job ended on a bus fault: ERROR = {error} ({code}): {ERROR_DOCS[code]}{at}")
        raise UserError(f"the accelerator refused the job: ERROR = {error} ({code}): {ERROR_DOCS[code]}")


def accounting(inputs, out, counters):
    """`round_candidates` (|C_1|..|C_R| summed over heads, one row: the hardware counts all heads
    together) and SPEC 7's work accounting from the RTL's outputs and counters."""
    from golden.accounting import work_accounting

    L, D, dh, H, Hkv = inputs.shape
    arith = inputs.arith
    c1 = L * (L + 1) // 2 if arith.causal else L * L
    rounds = arith.n_rounds if arith.uses_lo_path else 1   # SPEC 8's other predictors: one count, |C_1|
    counts = [H * c1] + [counters[f"pairs_round{r}"] for r in range(1, rounds)]
    mask = np.asarray(out["mask"]).reshape(-1, L, L)
    needed = np.asarray(out["key_needed"]).reshape(-1, L)
    work = work_accounting(n_tokens=L, d_model=D, head_dim=dh, n_heads=H, n_kv_heads=Hkv, pairs_c1=c1,
                           key_needed_counts=needed.sum(axis=1), mask_nnz=mask.sum(axis=(1, 2)),
                           cand_counts=[counts], predictor=arith.predictor)
    return {"round_candidates": np.asarray([counts], dtype=np.int64),
            **{k: np.asarray(v) for k, v in work.items()}}
