"""The settings a sweep evaluates, each with the predictors worth running on it: DDF `range`
(eta per round) and `margin` (delta per round, in nats), 1/2/3 MRSA rounds, weight LO mantissa
0/1 (SPEC sections 2, 3 and 5).

The main curves (2 rounds, default weight code) run LAPA, the oracle and top-k; the round-count
ablation runs LAPA and the oracle (the oracle repeats the rule once per round); the weight
mantissa ablation runs LAPA only (the oracle and top-k's choice do not depend on the weight code
except through LAPA's density). Ordered so that a sweep stopped early has the main curves.
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
    return _margin((12.0, 8.0)) + _range((0.9,)) + _margin((16.0,)) + _range((0.7,))


def _full():
    both = ("lapa", "oracle")
    return (_main() + _margin((12.0,), rounds=1, preds=both) + _margin((12.0,), rounds=3, preds=both)
            + _margin((12.0,), mant=1, preds=("lapa",)) + _range((0.8,), rounds=1, preds=both)
            + _range((0.8,), rounds=3, preds=both) + _range((0.9,), mant=1, preds=("lapa",))
            + _margin((6.0,)) + _range((0.5,)))


def _quick():
    return _range((1.0, 0.8)) + _margin((8.0,))


GRIDS = {"quick": _quick, "main": _main, "full": _full}


def grid(name):
    """[(Setting, predictors)] of a named grid."""
    return GRIDS[name]()
