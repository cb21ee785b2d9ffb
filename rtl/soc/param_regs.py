"""The SPEC parameters between the register bank and the units, from the table of `lapa.fields`.

`param_layout` gives a consumer's share of the table as struct fields (each row's width; a
per-round row an array of `rounds`); `param_register` finds a row's register (of round r) in the
bank's `config` view; `feed_params` drives a consumer's fields from the registers and refuses, at
elaboration, a destination narrower than its source, so `.eq` cannot truncate a legal value.
"""

from amaranth.hdl import Value, unsigned
from amaranth.lib import data

from lapa.fields import PARAMS, ROUNDS_PARAM, consumed_by, round_field

__all__ = ["param_layout", "param_register", "feed", "feed_params"]


def param_layout(consumer, rounds, params=PARAMS):
    """{name: shape} of the rows `consumer` reads, in table order (per-round rows: `rounds` entries)."""
    out = {}
    for p in consumed_by(consumer, params):
        shape = unsigned(p.width)
        out[p.name] = data.ArrayLayout(shape, rounds) if p.per_round else shape
    return out


def param_register(regs, p, r=None):
    """Row `p`'s register in the bank's `config` view (`r`: the round, for a per-round row)."""
    if not p.per_round:
        return regs[p.name]
    if p.name == ROUNDS_PARAM:
        return regs.round_bits[round_field(p, r)]
    return regs[f"{p.name}{r + 1}"]


def feed(dst, src, what):
    """`dst.eq(src)`, refused (ValueError naming `what`) when `dst` is narrower than `src`."""
    dw, sw = len(Value.cast(dst)), len(Value.cast(src))
    if dw < sw:
        raise ValueError(f"{what}: a {dw}-bit port fed from a {sw}-bit register would truncate")
    return dst.eq(src)


def feed_params(dst, regs, consumer, rounds, params=PARAMS, exclude=()):
    """The statements that drive `dst` (a view of `param_layout(consumer, rounds)`) from `regs`,
    but the fields named in `exclude` (the caller drives them)."""
    stmts = []
    for p in consumed_by(consumer, params):
        if p.name in exclude:
            continue
        if p.per_round:
            stmts += [feed(dst[p.name][r], param_register(regs, p, r), f"{consumer}.{p.name}[{r}]")
                      for r in range(rounds)]
        else:
            stmts.append(feed(dst[p.name], param_register(regs, p), f"{consumer}.{p.name}"))
    return stmts
