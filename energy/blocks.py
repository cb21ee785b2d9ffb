"""Which instance of the accelerator does which action, and how many of them a job performs.

Each entry: the instance path in the netlist (`spec/pea`), the unit it belongs to for the energy
split (speculation, execution, memory, control), the action it is charged per, and the count of
that action in a job, from SPEC 7's work accounting of the job's own outputs (mask, key_needed,
the per-round candidate counts that the PAIRS_ROUND counters give) or from the AXI transfers
counted in the waveform. All counts are exact for the RTL (each follows from how the block is
fed: `rtl/speculation/unit.py`, `rtl/execution/unit.py`); instances without an action of their own (FIFOs,
tables, the units' control) are charged per cycle of the job.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["BLOCKS", "UNIT_OF", "job_counts", "block_actions", "AXI_HANDSHAKES", "group_of"]

# (instance path or prefix, unit, action)
BLOCKS = (
    ("spec/pea", "speculation", "PEA beat (pea_lanes shift-adds)"),
    ("spec/loe", "speculation", "q_hat element LO-encoded"),
    ("spec/rope", "speculation", "row rotated (q_hat / k_hat)"),
    ("spec/peb", "speculation", "scored pair (one MRSA round)"),
    ("spec/ddf", "speculation", "filtered pair (one round)"),
    ("exec/mac", "execution", "MAC (projections and Q.K)"),
    ("exec/requant", "execution", "element requantized (q, k, v)"),
    ("exec/softmax", "execution", "softmax element (kept pair)"),
    ("exec/av", "execution", "MAC (A.V) with the o requant"),
    ("exec/rope", "execution", "row rotated (q, k)"),
    ("exec/kv", "execution", "K/V row requested"),
    ("fetcher", "memory", "AXI read beat (64 bit)"),
    ("results", "memory", "AXI write beat (64 bit)"),
)

# levels the composed components add below a table path: the speculation unit's projector /
# predictor, the execution unit's projection feed / output, and the credit FIFO around a fetch FIFO
_COMPONENT_LEVEL = re.compile(r"^(spec/)(?:projector|predictor)/|^(exec/)(?:proj_feed|proj_out)/|^(fetch\d+_fifo/)fifo/")
# the top's reset-wrapped core (rtl/top.py, issue 19: `core` holds the units, the fetchers and
# the result writer): not a level of the table either
_CORE_LEVEL = re.compile(r"^core(?:/|$)")

AXI_HANDSHAKES = {"axi_r": ("top.axi__rvalid", "top.axi__rready"),
                  "axi_w": ("top.axi__wvalid", "top.axi__wready")}


def flat_path(path):
    """An instance path without the components' own levels (`core/spec/projector/pea` -> `spec/pea`,
    `spec/predictor/kbuf` -> `spec/kbuf`, `fetch0_fifo/fifo/storage` -> `fetch0_fifo/storage`):
    the table's paths, whichever way the units are composed."""
    path = _CORE_LEVEL.sub("", path)
    return _COMPONENT_LEVEL.sub(lambda m: m.group(1) or m.group(2) or m.group(3), path)


def group_of(path):
    """The BLOCKS entry an instance path belongs to, or None (then: per-cycle glue). The
    speculation unit's two components are not a level of the table: `spec/projector/pea` and
    `spec/predictor/peb` are `spec/pea` and `spec/peb`."""
    path = flat_path(path)
    for prefix, unit, action in BLOCKS:
        if path == prefix or path.startswith(prefix + "/") or (
                prefix == "spec/loe" and path.startswith("spec/loe")):
            return prefix
    return None


def UNIT_OF(path):
    """Unit of any instance path: spec/* speculation, exec/* execution, the fetch and
    result paths memory, the rest (registers, config check, top-level glue) control."""
    head = flat_path(path).split("/")[0]
    if head == "spec":
        return "speculation"
    if head == "exec":
        return "execution"
    if head.startswith(("fetch", "results", "unpacker")):
        return "memory"
    return "control"


def job_counts(inputs, out, counters):
    """The job's work figures (all heads), from its outputs and counters."""
    L, D, dh, H, Hkv = inputs.shape
    arith = inputs.arith
    c1 = L * (L + 1) // 2 if arith.causal else L * L
    rounds = [H * c1] + [counters[f"pairs_round{r}"] for r in range(1, arith.n_rounds)]
    nnz = int(np.asarray(out["mask"]).sum())
    kn = int(np.asarray(out["key_needed"]).sum())
    return {"L": L, "D": D, "dh": dh, "H": H, "Hkv": Hkv, "rope": int(arith.rope),
            "scored_pairs": int(sum(rounds)), "nnz": nnz, "key_needed": kn,
            "cycles": int(counters["cycles_total"])}


def block_actions(w, hw, axi=None):
    """{block prefix: action count} for work figures `w` (job_counts) on hardware `hw`;
    `axi` the AXI beats ({'axi_r', 'axi_w'}) when known."""
    L, D, dh, H, Hkv, kn, nnz = w["L"], w["D"], w["dh"], w["H"], w["Hkv"], w["key_needed"], w["nnz"]
    out = {
        "spec/pea": (H + Hkv) * L * D * dh // hw.pea_lanes,
        "spec/loe": H * L * dh,
        "spec/rope": (H + Hkv) * L,
        "spec/peb": w["scored_pairs"],
        "spec/ddf": w["scored_pairs"],
        "exec/mac": H * L * D * dh + 2 * kn * D * dh + nnz * dh,
        "exec/requant": (H * L + 2 * kn) * dh,
        "exec/softmax": nnz,
        "exec/av": nnz * dh,
        "exec/rope": H * L + kn,
        "exec/kv": kn,
    }
    if axi is not None:
        out["fetcher"] = axi["axi_r"]
        out["results"] = axi["axi_w"]
    return out
