"""Corner-case coverage of the end-to-end regressions (`tests/test_top.py`, `tests/test_top_faults.py`).

Every bin belongs to the test whose jobs must hit it: that test fails (`require`) when one of its
bins was never hit. Data bins are computed from the inputs and golden outputs of the jobs that ran
and matched (`job_bins`: cheap, no simulator probes); stall, reset and fault bins come from what
the testbench did. `pytest_terminal_summary` (tests/conftest.py) prints the table of every bin with
its hits and writes it to build/coverage.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from golden.intmath import exact_matmul, rshr
from golden.pea import aloc_weights, pea_accumulate

__all__ = ["BINS", "job_bins", "require", "hits", "table", "write_json"]

E2E, STALLS, FAULTS = "test_top_end_to_end", "test_top_backpressure_and_reset", "test_top_bus_faults"
DENSE = "test_top_dense_end_to_end"
SYMLO = "test_top_symlo_end_to_end"
REQUANTS = ("q_hat", "k_hat", "q", "k", "v", "o")

BINS = {
    "one_token": ("L = 1", E2E),
    "max_length": ("L = max_seq_len of the hardware", E2E),
    "single_kept_key": ("a mask row keeps one key of two or more candidates", E2E),
    "all_keys_kept": ("a head keeps every candidate of C_1 (L >= 2)", E2E),
    "round_keeps_all": ("a round removes no candidate of a head (L >= 2)", E2E),
    "round_prunes": ("a round removes candidates", E2E),
    **{f"rounds_{r}": (f"R = {r} MRSA rounds", E2E) for r in range(1, 5)},
    "ddf_range": ("ddf_mode = range", E2E),
    "ddf_margin": ("ddf_mode = margin", E2E),
    "causal": ("causal = 1", E2E),
    "not_causal": ("causal = 0", E2E),
    "rope": ("rope = 1", E2E),
    "gqa": ("grouped heads (H / Hkv > 1)", E2E),
    "mha": ("H = Hkv > 1", E2E),
    **{f"sat_{n}_{d}": (f"{n} requant clips {'above 127' if d == 'hi' else 'below -128'}", E2E)
       for n in REQUANTS for d in ("hi", "lo")},
    "prob_max": ("a kept probability clips at 65535", E2E),
    "prob_zero": ("a kept key's probability is 0 (E underflows)", E2E),
    "predictor_lapa": ("predictor = lapa (HardwareConfig.predictor lapa)", E2E),
    "predictor_dense": ("predictor = dense (the dense predictor in the slot)", DENSE),
    "predictor_symlo": ("predictor = symlo (the speculation unit with the x-LOE in the slot)", SYMLO),
    "symlo_x_min": ("symlo: x = -128 through the x-LOE (its one code of magnitude 128)", SYMLO),
    "predictor_sanger": ("predictor = sanger (Sanger in the slot, the execution unit's pre-phase)",
                         "test_top_sanger_end_to_end"),
    "predictor_topk": ("predictor = topk (top-k in the slot, the pre-phase's exact scores)", "test_top_topk_end_to_end"),
    "stall_none": ("no AXI stalls", FAULTS),
    "stall_all": ("random stalls on every AXI channel", STALLS),
    "stall_read": ("read address and data stall", FAULTS),
    "stall_write": ("write address, data and response stall", FAULTS),
    "stall_addr": ("only the address channels stall", FAULTS),
    "stall_resp": ("only read data and write responses stall", FAULTS),
    "reset_mid_job": ("reset halfway through a job", STALLS),
    "fault_read_slverr": ("RRESP = SLVERR", FAULTS),
    "fault_read_decerr": ("RRESP = DECERR", FAULTS),
    "fault_write_slverr": ("BRESP = SLVERR", FAULTS),
    "fault_write_decerr": ("BRESP = DECERR", FAULTS),
    "fault_read_timeout": ("a read burst never answers (watchdog)", FAULTS),
    "fault_read_addr_timeout": ("a read address is never taken (watchdog)", FAULTS),
    "fault_write_timeout": ("a write response never comes (watchdog)", FAULTS),
    "fault_restart_in_drain": ("a start while the guard drains waits, then runs", FAULTS),
    "fault_bus_pending": ("a start with a burst never answered is refused (BUS_PENDING)", FAULTS),
    "reset_mid_read_burst": ("reset between two beats of a read burst", FAULTS),
    "reset_mid_write_burst": ("reset between two beats of a write burst", FAULTS),
}

_HITS: dict[str, dict[str, int]] = {}     # bin -> {test: jobs that hit it}


def _presat(acc, m, n):
    return rshr(acc * m, n)


def job_bins(inputs, gold, hw) -> set:
    """The data bins one job hits, from its inputs and golden outputs."""
    a = inputs.arith
    x = np.asarray(inputs.x)
    wq, wk, wv = (np.asarray(w) if np.asarray(w).ndim == 3 else np.asarray(w)[None]
                  for w in (inputs.wq, inputs.wk, inputs.wv))
    H, Hkv, L = wq.shape[0], wk.shape[0], x.shape[0]
    g = {k: np.asarray(v) for k, v in gold.items()}
    mask = g["mask"].reshape(H, L, L)
    needed = g["key_needed"].reshape(Hkv, L).astype(bool)
    probs = g["probs"].reshape(H, L, L)
    v = g["v"].reshape(Hkv, L, -1)
    c1 = np.tril(np.ones((L, L), bool)) if a.causal else np.ones((L, L), bool)
    out = {f"rounds_{a.n_rounds}", f"ddf_{a.ddf_mode}", "causal" if a.causal else "not_causal",
           f"predictor_{a.predictor}"}
    out |= {"rope"} if a.rope else set()
    out |= {"symlo_x_min"} if a.predictor == "symlo" and np.any(x == -128) else set()
    out |= {"gqa"} if H > Hkv else ({"mha"} if H > 1 else set())
    out |= {"one_token"} if L == 1 else set()
    out |= {"max_length"} if L == hw.max_seq_len else set()
    kept = mask.sum(axis=2)
    if np.any((kept == 1) & (c1.sum(axis=1) >= 2)[None]):
        out.add("single_kept_key")
    if L >= 2 and any(np.array_equal(mask[h], c1) for h in range(H)):
        out.add("all_keys_kept")
    counts = np.concatenate([np.asarray(g["round_candidates"]).reshape(H, -1), mask.sum(axis=(1, 2))[:, None]], axis=1)
    if L >= 2 and np.any(counts[:, 1:] == counts[:, :-1]):
        out.add("round_keeps_all")
    if np.any(counts[:, 1:] < counts[:, :-1]):
        out.add("round_prunes")
    pre = {"q_hat": [rshr(pea_accumulate(x, aloc_weights(w, a.w_lo_mode, a.w_lo_mant_bits)), a.sh_qhat) for w in wq],
           "k_hat": [rshr(pea_accumulate(x, aloc_weights(w, a.w_lo_mode, a.w_lo_mant_bits)), a.sh_khat) for w in wk],
           "q": [_presat(exact_matmul(x, w), a.m_q, a.n_q) for w in wq],
           "k": [_presat(exact_matmul(x, w), a.m_k, a.n_k)[needed[i]] for i, w in enumerate(wk)],
           "v": [_presat(exact_matmul(x, w), a.m_v, a.n_v)[needed[i]] for i, w in enumerate(wv)],
           "o": [_presat(exact_matmul(probs[h].astype(np.int64), v[h // (H // Hkv)]), a.m_o, a.n_o)
                 for h in range(H)]}
    for name, vals in pre.items():
        flat = np.concatenate([np.ravel(p) for p in vals]) if vals else np.zeros(0)
        if np.any(flat > 127):
            out.add(f"sat_{name}_hi")
        if np.any(flat < -128):
            out.add(f"sat_{name}_lo")
    if np.any(probs[mask] == 65535):
        out.add("prob_max")
    if np.any(probs[mask] == 0):
        out.add("prob_zero")
    return out


def require(test, jobs, record=True):
    """Record the bins each of `test`'s jobs hit (`jobs`: one set per job; `record` False: only
    check), then fail naming every bin of `test` that none of them hit."""
    seen = set()
    for bins in jobs:
        for b in bins:
            if b not in BINS:
                raise KeyError(f"coverage bin {b!r} is not listed in BINS")
            if record:
                _HITS.setdefault(b, {}).setdefault(test, 0)
                _HITS[b][test] += 1
        seen |= set(bins)
    missing = [b for b, (_, owner) in BINS.items() if owner == test and b not in seen]
    assert not missing, f"{test}: coverage bins never hit: {', '.join(missing)}"


def hits():
    return {b: dict(t) for b, t in _HITS.items()}


def table() -> str:
    """Every bin: hits, the tests that hit it, its meaning ('-' where nothing ran it)."""
    rows = [f"{'bin':<24} {'hits':>5}  {'owner':<32} meaning"]
    for b, (meaning, owner) in BINS.items():
        n = sum(_HITS.get(b, {}).values())
        rows.append(f"{b:<24} {n if n else '-':>5}  {owner:<32} {meaning}")
    return "\n".join(rows)


def write_json(path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({b: {"meaning": m, "owner": o, "hits": _HITS.get(b, {})}
                                for b, (m, o) in BINS.items()}, indent=1))
