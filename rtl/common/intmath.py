"""Combinational integer helpers matching SPEC's notation: `rshr`, saturation, and widths.

Shift amounts may be Python ints (elaboration-time) or Amaranth values (runtime config
registers); both give the exact SPEC result (`rshr(v, 0) = v`).
"""

from amaranth.hdl import Const, Mux, Value, signed

__all__ = ["rshr", "saturate", "sat8"]


def rshr(v, n):
    """`(v + (1 << (n-1))) >> n` for n > 0, `v` for n = 0: round half up, arithmetic shift."""
    v = Value.cast(v)
    if isinstance(n, int):
        return v if n == 0 else (v + (1 << (n - 1))) >> n
    n = Value.cast(n)
    half = (Const(1, len(v) + 1) << n) >> 1  # 0 when n = 0
    return (v + half) >> n


def saturate(v, width):
    """Clip a signed value to the `width`-bit two's-complement range; the result is signed(width)."""
    v = Value.cast(v)
    hi, lo = (1 << (width - 1)) - 1, -(1 << (width - 1))
    return Mux(v > hi, Const(hi, signed(width)),
               Mux(v < lo, Const(lo, signed(width)), v[:width].as_signed()))


def sat8(v):
    """`sat8(v)` of SPEC: clip to [-128, 127]."""
    return saturate(v, 8)
