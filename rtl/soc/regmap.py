"""The register map of the AXI4-Lite slave: one source for the RTL, the Markdown table and the C header.

Every SPEC section 5 value a built block consumes has a read/write register under its SPEC name,
width and reset from its row of `lapa.fields.PARAMS`; the job (sequence length, heads, buffer
addresses), control and status registers, and read-only performance counters follow. 32-bit
registers, word-aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

from lapa.config import HW_RANGES, HardwareConfig
from lapa.fields import MAX_ROUNDS, PARAMS, ROUND_COUNT_WIDTH, ROUNDS_PARAM, param, registered, round_field

__all__ = ["Field", "Register", "register_map", "regmap_markdown", "regmap_c_header",
           "ERROR_CODES", "CONFIG_CODES", "FAULT_CODES", "ERROR_DOCS", "LAPA_ID", "WATCHDOG_DEFAULT",
           "COUNTER_BITS", "pairs_bits"]

LAPA_ID = 0x4C415041  # "LAPA"

# Error codes reported in ERROR.code (0 = none): 1..15 a job refused at start for its register
# values (`rtl.soc.config_check`), 16.. a job ended by the memory bus (`rtl.soc.axi_guard`).
_ERRORS = (
    ("NONE", 0, "no error"),
    ("SEQ_LEN", 1, "SEQ_LEN is 0 or above the generated max_seq_len"),
    ("HEADS", 2, "N_HEADS / N_KV_HEADS zero, above the generated count, or not grouped"),
    ("ROUND_BITS", 3, "ROUND_BITS: no rounds, more than max_rounds, a zero slice, or sum != 8"),
    ("ETA", 4, "a ROUND_ETA above 2^ETA_FRAC_BITS, or ETA_FRAC_BITS outside 1..8"),
    ("SM_FRAC_BITS", 5, "SM_FRAC_BITS outside 1..8"),
    ("SHIFT_RANGE", 6, "a requant shift (n_*, sm_shift) above 47"),
    ("MULT", 7, "a zero multiplier (m_* or sm_mult)"),
    ("ROPE", 9, "rope = 1 with ROPE_BASE outside 1..2^20 or POS0 above 2^16"),
    ("PREDICTOR", 10, "PREDICTOR (the job's SPEC 8 predictor) is not the predictor generated into the "
                      "predictor slot (HW_LIMITS.predictor)"),
    ("TOPK_K", 11, "TOPK_K (keys kept per row of SPEC 8 topk) is 0"),
    ("READ_SLVERR", 16, "a read burst answered SLVERR (FAULT_ADDR: its address)"),
    ("READ_DECERR", 17, "a read burst answered DECERR (FAULT_ADDR: its address)"),
    ("WRITE_SLVERR", 18, "a write burst answered SLVERR (FAULT_ADDR: its address)"),
    ("WRITE_DECERR", 19, "a write burst answered DECERR (FAULT_ADDR: its address)"),
    ("READ_TIMEOUT", 20, "a read address or data waited WATCHDOG cycles on the memory"),
    ("WRITE_TIMEOUT", 21, "a write address, data or response waited WATCHDOG cycles on the memory"),
    ("BUS_PENDING", 22, "started while a burst of a job ended by a timeout is still unanswered "
                        "(STATUS.bus_pending; a reset of the accelerator and its interconnect clears it)"),
)
ERROR_CODES = {name: code for name, code, _ in _ERRORS}
ERROR_DOCS = {name: doc for name, _, doc in _ERRORS}
CONFIG_CODES = tuple(name for name, code, _ in _ERRORS if 0 < code < 16)
FAULT_CODES = tuple(name for name, code, _ in _ERRORS if code >= 16)
WATCHDOG_DEFAULT = 1 << 20   # cycles a transfer may wait on the memory before READ/WRITE_TIMEOUT
COUNTER_BITS = 64            # CYCLES_*: 2^64 cycles is 580 years at 1 GHz


def pairs_bits(hw):
    """Bits of a PAIRS_ROUND* count: every pair of every head kept, H * L * L."""
    return (hw.n_heads * hw.max_seq_len * hw.max_seq_len).bit_length()


@dataclass(frozen=True)
class Field:
    """A bit field of a register."""

    name: str
    width: int
    doc: str = ""
    reset: int = 0


@dataclass(frozen=True)
class Register:
    """A 32-bit register: `rw` (software writes), `ro` (hardware drives) or `const` (fixed)."""

    name: str
    offset: int
    access: str
    fields: tuple
    doc: str

    @property
    def width(self):
        return sum(f.width for f in self.fields)

    def pack(self, **values):
        """The register's 32-bit value with the named fields set (the others at their reset),
        each field checked to fit."""
        unknown = set(values) - {f.name for f in self.fields}
        if unknown:
            raise ValueError(f"{self.name}: no field {', '.join(sorted(unknown))}")
        word, lo = 0, 0
        for f in self.fields:
            v = int(values.get(f.name, f.reset))
            if not 0 <= v < 1 << f.width:
                raise ValueError(f"{self.name}.{f.name} = {v}: does not fit {f.width} bits")
            word |= v << lo
            lo += f.width
        return word


def register_map(hw: HardwareConfig | None = None, params=PARAMS) -> list[Register]:
    """Every register, in address order; the SPEC ones from the rows of `params` that a built
    block consumes (`lapa.fields.registered`)."""
    hw = hw or HardwareConfig()
    regs = []

    def add(name, access, fields, doc):
        regs.append(Register(name, 4 * len(regs), access, tuple(fields), doc))

    add("ID", "const", [Field("id", 32, "0x4C415041 ('LAPA')", LAPA_ID)], "identification")
    add("CTRL", "rw", [Field("start", 1, "write 1 to start a job (self-clearing)"),
                       Field("irq_enable", 1, "`irq` = irq_enable & STATUS.done (level)"),
                       Field("trace", 1, "also write q_hat, k_hat, q, k, v, key_needed "
                                         "and probs to their *_ADDR buffers")], "control")
    add("STATUS", "ro", [Field("busy", 1, "a job is running"),
                         Field("done", 1, "the last job ended (cleared by start)"),
                         Field("error", 1, "the last job was refused or failed; see ERROR"),
                         Field("bus_pending", 1, "a burst of a job ended by a timeout is still "
                                                 "unanswered: a start is refused with BUS_PENDING")],
        "status")
    add("ERROR", "ro", [Field("code", 8, "see the error codes table")], "why the last job failed")
    add("FAULT_ADDR", "ro", [Field("fault_addr", 32, "address of the burst that faulted (codes 16..21)")],
        "bus fault address")
    add("WATCHDOG", "rw", [Field("watchdog", 32, "cycles a bus transfer may wait on the memory "
                                                 "(0: no limit)", WATCHDOG_DEFAULT)],
        "bus watchdog limit")
    add("HW_SHAPE", "const", [Field("d_model", 16, "D of the generated hardware", hw.d_model),
                           Field("head_dim", 16, "dh of the generated hardware", hw.head_dim)],
        "generated shape")
    seq_w, heads_w = (HW_RANGES[k][1].bit_length() for k in ("max_seq_len", "n_heads"))
    add("HW_LIMITS", "const", [Field("max_seq_len", seq_w, "", hw.max_seq_len),
                            Field("n_heads", heads_w, "", hw.n_heads),
                            Field("max_rounds", ROUND_COUNT_WIDTH, "", hw.max_rounds),
                            Field("predictor", param("predictor").width,
                                  "the predictor generated (" + ", ".join(
                                      f"{i} {n}" for i, n in enumerate(param("predictor").choices)) + ")",
                                  param("predictor").encode(hw.predictor))], "generated limits")
    add("SEQ_LEN", "rw", [Field("seq_len", seq_w, "L, tokens of the job", 1)], "job length")
    add("HEADS", "rw", [Field("n_heads", heads_w, "H", hw.n_heads),
                        Field("n_kv_heads", heads_w, "Hkv (H a multiple of it)", hw.n_kv_heads)],
        "job heads")
    for name, doc in (("X_ADDR", "x [L, D] int8, row-major"),
                      ("WQ_ADDR", "wq [H, D, dh] int8, tile order (lapa.memlayout.exec_tiles)"),
                      ("WK_ADDR", "wk [Hkv, D, dh] int8, tile order"),
                      ("WV_ADDR", "wv [Hkv, D, dh] int8, tile order"),
                      ("WQ_LO_ADDR", "LO codes of wq [H, D, dh], a byte each, PEA group order (pea_groups)"),
                      ("WK_LO_ADDR", "LO codes of wk [Hkv, D, dh], a byte each, PEA group order"),
                      ("ROPE_ADDR", "rope [L, dh] int16 table rows, c then s (read when rope = 1)"),
                      ("OUT_ADDR", "o [H, L, dh] int8, written by the accelerator"),
                      ("MASK_ADDR", "mask [H, L, ceil(L/8)] bits, LSB first (written and read back)"),
                      ("Q_HAT_ADDR", "q_hat [H, L, dh] int8 (trace)"),
                      ("K_HAT_ADDR", "k_hat [Hkv, L, dh] int8 (trace)"),
                      ("Q_ADDR", "q [H, L, dh] int8 (trace)"),
                      ("K_ADDR", "k [Hkv, L, dh] int8 (trace; rows not needed are not written)"),
                      ("V_ADDR", "v [Hkv, L, dh] int8 (trace; rows not needed are not written)"),
                      ("KEY_NEEDED_ADDR", "key_needed [Hkv, ceil(L/8)] bits, LSB first (trace)"),
                      ("PROBS_ADDR", "probs [H, L, L] uint16 (trace; each row's kept probabilities, compacted)")):
        add(name, "rw", [Field(name.lower(), 32, doc)], f"byte address of {doc.split()[0]}")
    _spec_registers(add, registered(params))
    for name, doc in (("CYCLES_TOTAL", "cycles from start to done"),
                      ("CYCLES_SPEC", "cycles the speculation unit was busy"),
                      ("CYCLES_EXEC", "cycles the execution unit was busy"),
                      ("CYCLES_STALL", "cycles waiting for memory")):
        _wide(add, name, COUNTER_BITS, doc)
    for r in range(MAX_ROUNDS):
        _wide(add, f"PAIRS_ROUND{r + 1}", pairs_bits(hw), f"pairs kept after round {r + 1}, all heads")
    add("PROGRESS", "ro", [Field("heads_done", heads_w, "query heads whose o rows are all written")],
        "progress of the running job")
    add("KV_ROWS", "ro", [Field("kv_rows", 32, "K/V rows computed, all KV heads")],
        "performance counter")
    return regs


def _spec_registers(add, params):
    """One register per scalar parameter (its default as reset), then the per-round ones: the
    round count packed with `round_bits`, the others a register per round (0 past R)."""
    for p in params:
        if not p.per_round:
            add(p.name.upper(), "rw", [Field(p.name, p.width, p.doc, p.encode(p.default))], f"SPEC {p.section} `{p.name}`")
    for p in params:
        if not p.per_round:
            continue
        values = list(p.default) + [0] * (MAX_ROUNDS - len(p.default))
        fields = [Field(round_field(p, r), p.width, f"{p.doc} {r + 1}", values[r]) for r in range(MAX_ROUNDS)]
        if p.name == ROUNDS_PARAM:
            count = Field("n_rounds", ROUND_COUNT_WIDTH, "R, 1..max_rounds", len(p.default))
            add("ROUND_BITS", "rw", [count] + fields, f"SPEC {p.section} `{p.name}`")
        else:
            for r, f in enumerate(fields):
                add(f"{p.name.upper()}{r + 1}", "rw", [f], f"SPEC {p.section} `{p.name}`")


def _wide(add, name, bits, doc):
    """A counter of `bits` bits: NAME (bits 31:0) and NAME_HI (the rest; at least one bit). Read
    after done, or HI, NAME, HI again while a job runs."""
    add(name, "ro", [Field(name.lower(), 32, f"{doc}, bits 31:0")], "performance counter")
    add(f"{name}_HI", "ro", [Field(f"{name.lower()}_hi", max(1, bits - 32), f"{doc}, bits {bits - 1}:32")],
        "performance counter, high word")


def regmap_markdown(regs) -> str:
    """The register map as Markdown tables (registers, then error codes)."""
    lines = ["# LAPA register map (AXI4-Lite, 32-bit registers)", "",
             "| offset | register | access | bits | field | reset | meaning |",
             "|---|---|---|---|---|---|---|"]
    for reg in regs:
        lo = 0
        for f in reg.fields:
            bits = f"{lo + f.width - 1}:{lo}" if f.width > 1 else f"{lo}"
            lines.append(f"| 0x{reg.offset:03X} | {reg.name} | {reg.access} | {bits} | {f.name} | "
                         f"{f.reset:#x} | {f.doc or reg.doc} |")
            lo += f.width
    lines += ["", "## Error codes (ERROR.code)", "", "| code | name | meaning |", "|---|---|---|"]
    lines += [f"| {v} | {k} | {ERROR_DOCS[k]} |" for k, v in ERROR_CODES.items()]
    return "\n".join(lines) + "\n"


def regmap_c_header(regs, prefix="LAPA") -> str:
    """The register map as a C header: `<P>_<REG>_OFFSET` per register, `<P>_<REG>_<FIELD>_SHIFT`
    and `_MASK` per field (but a register's only field named like it), error codes as
    `<P>_ERR_<NAME>`. Refuses a map whose names would
    collide or an error code whose name ends like an offset, shift or mask macro."""
    suffixes = ("_OFFSET", "_SHIFT", "_MASK")
    names = {}
    out = ["/* LAPA accelerator register map. Generated by build.py from rtl/soc/regmap.py: do not edit. */",
           f"#ifndef {prefix}_REGS_H", f"#define {prefix}_REGS_H", ""]

    def define(name, value, comment=""):
        if name in names:
            raise ValueError(f"C header: {name} defined twice")
        names[name] = value
        out.append(f"#define {name} {value}" + (f"  /* {comment} */" if comment else ""))

    for reg in regs:
        define(f"{prefix}_{reg.name}_OFFSET", f"0x{reg.offset:03X}u", f"{reg.access}: {reg.doc}")
        lo = 0
        for f in reg.fields:
            if len(reg.fields) > 1 or f.name.upper() != reg.name:   # not for a register's only namesake
                base = f"{prefix}_{reg.name}_{f.name.upper()}"
                define(f"{base}_SHIFT", f"{lo}u")
                define(f"{base}_MASK", f"0x{((1 << f.width) - 1) << lo:08X}u")
            lo += f.width
    out.append("")
    for k, v in ERROR_CODES.items():
        if f"_{k}".endswith(suffixes):
            raise ValueError(f"error code {k}: ends like a register macro ({', '.join(suffixes)})")
        define(f"{prefix}_ERR_{k}", f"{v}u", ERROR_DOCS[k])
    out += ["", f"#endif /* {prefix}_REGS_H */", ""]
    return "\n".join(out)
