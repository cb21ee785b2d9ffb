"""The cycle model of the predictors that read the execution unit's exact rows (SPEC 8 sanger,
topk): the unit's pre-phase (`rtl.execution.prephase`) and the predictor in the slot
(`rtl.predictors.exact`), one query head at a time, as scalar recursions per query row.

Per head, the unit projects q rows back to back, each starting when the previous one has left
(sanger: taken on the slot's `q`; topk: its scores over C_1 taken on the slot's `scores`):
- sanger (`rtl.predictors.sanger`): row t is taken when the block is idle (its previous row
  scored); its keys are scored CH = dh / peb_lanes cycles each, the first waiting for the
  softmax to be back in COLLECT (the previous row's EXP, DIV, OUT: 2n + a constant after its
  last score); a key's last chunk waits while the softmax input register is full;
- topk (`rtl.predictors.topk`): row t's scores come from the MAC array one per QC cycles, the
  first waiting for the engine to be back in collect: n <= topk_k keeps all (emit, n cycles),
  else ceil(W / radix_bits) search passes of n + 1 cycles and the emit.
A job (query head) starts two cycles after the previous one's last beat (the sequencer's WAIT,
START); row 0 of head j waits for it. Constants (`ExactLatency`) are measured against the RTL
(`tests/test_perf.py` compares the whole job with the C++ harness).
"""

from __future__ import annotations

__all__ = ["ExactLatency", "pre_head"]


class ExactLatency:
    proj = 6           # projection started -> row out of the back end (the execution Latency.proj)
    sg_first = 0       # q row taken -> its first key's last chunk at + CH + sg_first
    sg_sm = 22         # last score into the softmax -> softmax back in COLLECT at + 2n + sg_sm
    sg_kept = 2        # softmax back in COLLECT -> the row's last kept beat (KeptList)
    tk_first = 3       # q row's p_done -> its first score offered to the engine
    tk_emit = 4        # engine: last score taken -> back in collect at + n + tk_emit (all kept)
    tk_search = 5      # ... at + passes * (n + 1) + n + tk_search (search, then emit)
    tk_kept = 1        # engine back in collect -> the row's last kept beat
    job_gap = 2        # a job's last beat -> the next job's rows may be taken


def pre_head(predictor, t0, job_start, sizes, P, CH, QC, topk_k=0, passes=0, lat=ExactLatency):
    """One query head's pre-phase rows from `t0` (the first q projection starts), its predictor
    job started at `job_start`; `sizes[t]` = |C_1[t]|. Returns (unit_done, kept_last): the cycle
    the unit finishes the head's last row (its next head's wq load begins) and the cycle of the
    job's last `kept` beat."""
    start = t0                 # projection of row t started
    free = job_start + lat.job_gap   # the predictor can take row 0's input from
    sm_free = free             # sanger: softmax in COLLECT / topk: engine in collect
    kept_last = free
    for n in sizes:
        n = int(n)
        ready = start + P      # row out of the projection back end
        if predictor == "sanger":
            a = max(ready, free)                         # q row taken
            e0 = a + CH + lat.sg_first
            acc0 = max(e0 + 1, sm_free)
            e_last = e0 if n == 1 else max(e0 + CH, acc0) + (n - 2) * CH
            c = acc0 if n == 1 else e_last + 1           # last score into the softmax
            free = e_last + 1
            sm_free = c + 2 * n + lat.sg_sm
            kept_last = sm_free + lat.sg_kept
            start = a                                    # the next row's projection starts
        else:
            first = max(ready + lat.tk_first, sm_free)
            c = max(first + n - 1, ready + lat.tk_first + (n - 1) * QC)   # last score taken
            busy = n + lat.tk_emit if n <= topk_k else passes * (n + 1) + n + lat.tk_search
            sm_free = c + 1 + busy
            kept_last = sm_free + lat.tk_kept
            start = c
    return start, kept_last
