"""The predictor slot: the one interface between a mask predictor and the rest of the accelerator.

SPEC section 8: every predictor (`lapa`, `dense`, `sanger`, `topk`, `symlo`) fills the same mask M
and key_needed for one execution path. A predictor component has a member `slot:
Out(PredictorSlot(hw))`; the accelerator side holds `In(PredictorSlot(hw))` and the two are joined
with `wiring.connect`. Directions below are the predictor's.

Control, per job (one query head; the jobs of one KV head are consecutive):
- `start` (In, one cycle) begins a job; `busy` (Out) is high from the cycle after `start` until the
  job's last output beat has gone out.
- `job` (In, stable while `busy`): `seq_len` (1..max_seq_len), `causal` (C_1: s <= t, else
  s < seq_len), `first_head` (the KV head's first query head: its k rows / k-side state are new),
  `last_head` (the KV head's last query head: `needed` goes out at the end of this job), `trace`.
  A predictor's own arithmetic parameters (SPEC 5 / 8 rows of `lapa.fields`) come on its own ports.

Results (Out):
- `kept`: for every query row t = 0..seq_len-1 in order, M[t]'s key indices ascending, `last` on
  the row's final key (every row keeps at least one key, SPEC 8).
- `needed`: with `last_head` = 1, after the last `kept` beat, key_needed of the KV head (the union
  of M over its query heads) as ascending indices, `last` on the final one.
- `hat`: with `trace` = 1 the q_hat rows (`is_k` = 0, rows in order) then, on a `first_head` job,
  the k_hat rows (`is_k` = 1), before the job's first `kept` beat, as SPEC 6 reports them (LAPA's
  hats, sanger's q4 / k4; `dense` and `topk` send none: `hat.valid` stays 0). Sanger sends each
  row as it takes its exact row, interleaved with `kept` (rows of one kind stay in order, which is
  all the result writer needs).

What a predictor may need from the execution unit (In; a predictor that uses none keeps `ready`
at 1 and the accelerator does not produce them for it):
- `q`: exact q rows of SPEC 4.1 (after RoPE when `rope`), rows t in order, one beat per row.
- `k`: exact k rows of SPEC 4.2 (after RoPE) for every token s = 0..seq_len-1 in order, on a
  `first_head` job (sanger and topk need k of every token, SPEC 8).
- `scores`: exact S[t, s] of SPEC 4.3 over C_1, rows t in order, keys s ascending, `last` on the
  row's final key (topk).

Payloads: `kept` / `needed` are `rtl.execution.kv_control.kv_request_layout` (`{key, last}`, what the
execution unit takes), `hat` is `hat_layout`, `q` / `k` are `row_layout`, `scores` `score_layout`.
"""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig

from rtl.execution.kv_control import kv_request_layout

__all__ = ["job_layout", "row_layout", "score_layout", "hat_layout", "PredictorSlot", "PREDICTOR_INPUTS",
           "FEEDS", "feeds"]

PREDICTOR_INPUTS = ("q", "k", "scores")   # the members the execution side may feed a predictor
# The inputs each predictor takes from the execution unit (it generates only these: its pre-phase).
FEEDS = {"lapa": (), "dense": (), "sanger": ("q", "k"), "topk": ("scores",)}


def feeds(hw: HardwareConfig):
    """The slot inputs the execution unit produces for the generated predictor."""
    return FEEDS.get(hw.predictor, ())


def job_layout(hw: HardwareConfig):
    """The per-job fields every predictor reads (stable while `busy`)."""
    return data.StructLayout({"seq_len": unsigned(hw.max_seq_len.bit_length()), "causal": 1,
                              "first_head": 1, "last_head": 1, "trace": 1})


def row_layout(hw: HardwareConfig):
    """One exact q or k row: its token and dh int8."""
    return data.StructLayout({"row": unsigned(hw.seq_index_width), "data": data.ArrayLayout(signed(8), hw.head_dim)})


def score_layout(hw: HardwareConfig):
    """One exact score S[t, s] (SPEC 4.3), `last` on the row's final key."""
    iw = hw.seq_index_width
    return data.StructLayout({"row": unsigned(iw), "key": unsigned(iw), "score": signed(hw.score_width), "last": 1})


def hat_layout(hw: HardwareConfig):
    """One beat of the `hat` trace stream: a q_hat (`is_k` = 0) or k_hat (`is_k` = 1) row."""
    return data.StructLayout({"is_k": 1, "row": unsigned(hw.seq_index_width),
                              "data": data.ArrayLayout(signed(8), hw.head_dim)})


class PredictorSlot(wiring.Signature):
    """The slot a mask predictor plugs into (see module docstring); flows are the predictor's."""

    def __init__(self, hw: HardwareConfig):
        self.hw = hw
        key = kv_request_layout(hw.seq_index_width)
        super().__init__({
            "start": In(1),
            "busy": Out(1),
            "job": In(job_layout(hw)),
            "kept": Out(stream.Signature(key)),
            "needed": Out(stream.Signature(key)),
            "hat": Out(stream.Signature(hat_layout(hw))),
            "q": In(stream.Signature(row_layout(hw))),
            "k": In(stream.Signature(row_layout(hw))),
            "scores": In(stream.Signature(score_layout(hw))),
        })

    def __eq__(self, other):
        return type(other) is PredictorSlot and self.hw == other.hw

    def __hash__(self):
        return hash(("PredictorSlot", self.hw))

    def __repr__(self):
        return f"PredictorSlot({self.hw!r})"
