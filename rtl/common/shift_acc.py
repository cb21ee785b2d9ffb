"""Multiplier-free LO product of SPEC section 2, shared by PEA and PEB.

`x (*) code = sign * ((x << e) + (m ? (x << (e-1)) : 0))`: a barrel shift by the runtime
exponent, an optional add of the half-shifted value (the mantissa bit), and a negation. No `*`
anywhere, so Yosys sees `$shl`/`$add`/`$neg` cells and never a `$mul`.
"""

from amaranth.hdl import Mux, Value

__all__ = ["lo_product", "adder_tree"]


def lo_product(x, code, mant_bits=1):
    """`x (*) code` as a signed expression; `code` is an `rtl.speculation.loe.LOCode` view.

    `mant_bits = 0` leaves the mantissa adder out (codes from the runtime LOE of q_hat).
    """
    x = Value.cast(x).as_signed()
    shifted = x << code.e
    if mant_bits:
        # e >= 1 whenever m = 1, so `shifted` is even and `>> 1` is the exact x << (e-1)
        mag = shifted + Mux(code.m, shifted >> 1, 0)
    else:
        mag = shifted
    return Mux(code.zero, 0, Mux(code.neg, -mag, mag))


def adder_tree(terms):
    """Balanced sum of a list of expressions (log depth instead of a chain)."""
    terms = list(terms)
    if not terms:
        raise ValueError("terms = []: nothing to add")
    while len(terms) > 1:
        nxt = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            nxt.append(terms[-1])
        terms = nxt
    return terms[0]
