"""The settings a sweep evaluates, each with the predictors worth running on it: DDF `range`
(eta per round) and `margin` (delta per round, in nats), 1/2/3 MRSA rounds, weight LO mantissa
0/1 (SPEC sections 2, 3 and 5).

The main curves (2 rounds, default weight code) run LAPA and the oracle, most of them top-k too;
the ablations run LAPA (the oracle of a margin rule does not depend on the number of rounds,
nor any oracle on the weight code), the `range` round ablation the oracle as well. Ordered so
that a sweep stopped early has the points that decide the +0.5 % / +2 % table.
"""

from __future__ import annotations

from .settings import DEFAULT_ROUND_BITS, Setting

__all__ = ["GRIDS", "grid"]

_ALL = ("lapa", "oracle", "topk")


def _range(etas, rounds=2, mant=0, preds=_ALL):
    return [(Setting("range", DEFAULT_ROUND_BITS[rounds], (e,), (0.0,), "round", mant), preds) for e in etas]


def _margin(deltas, rounds=2, mant=0, preds=_ALL):
    return [(Setting("margin", DEFAULT_ROUND_BITS[rounds], (1.0,), (d,), "round", mant), preds)
            for d in deltas]


def _main():
    both = ("lapa", "oracle")
    return (_margin((12.0, 8.0)) + _margin((10.0,), preds=both) + _margin((6.0,))
            + _range((0.9,), preds=both))


def _full():
    # Extra rounds or the weight mantissa bit do not change the oracle of a margin rule.
    lapa, both = ("lapa",), ("lapa", "oracle")
    return (_main() + _margin((12.0,), rounds=1, preds=lapa) + _margin((12.0,), rounds=3, preds=lapa)
            + _margin((12.0,), mant=1, preds=lapa) + _range((0.7,), preds=both) + _margin((16.0,))
            + _range((0.8,), rounds=1, preds=both) + _range((0.8,), rounds=3, preds=both)
            + _range((0.9,), mant=1, preds=lapa) + _range((0.5,), preds=both))


def _quick():
    return _range((1.0, 0.8)) + _margin((8.0,))


GRIDS = {"quick": _quick, "main": _main, "full": _full}


def grid(name):
    """[(Setting, predictors)] of a named grid."""
    return GRIDS[name]()
