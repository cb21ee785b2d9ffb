"""The settings a sweep evaluates: DDF `range` (eta per round) and `margin` (delta per round, in
nats), 1/2/3 MRSA rounds, weight LO mantissa 0/1 (SPEC sections 2, 3 and 5).

Ordered so that a sweep stopped early still has the main curves: 2-round `range` and `margin`
with the default weight code first, then rounds, then the LO mantissa bit.
"""

from __future__ import annotations

from .settings import DEFAULT_ROUND_BITS, Setting

__all__ = ["GRIDS", "grid"]


def _range(etas, rounds=2, mant=0):
    return [Setting("range", DEFAULT_ROUND_BITS[rounds], (e,), (0.0,), "round", mant) for e in etas]


def _margin(deltas, rounds=2, mant=0):
    return [Setting("margin", DEFAULT_ROUND_BITS[rounds], (1.0,), (d,), "round", mant) for d in deltas]


def _full():
    return (_range((0.95, 0.9, 0.85, 0.8, 0.7, 0.5)) + _margin((16.0, 12.0, 10.0, 8.0, 6.0))
            + _range((0.9, 0.8), rounds=1) + _range((0.9, 0.8), rounds=3)
            + _margin((12.0, 8.0), rounds=1) + _margin((12.0, 8.0), rounds=3)
            + _range((0.9, 0.8), mant=1) + _margin((12.0, 8.0), mant=1))


def _quick():
    return _range((1.0, 0.8)) + _margin((8.0,))


GRIDS = {"full": _full, "quick": _quick}


def grid(name):
    return GRIDS[name]()
