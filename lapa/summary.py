"""Short human-readable summaries of a layer's outputs (used by run, demo and bench)."""

import numpy as np

__all__ = ["layer_summary"]


def layer_summary(inputs, out) -> str:
    """A few lines: shapes, candidates per round, mask density, key_needed, execution reduction."""
    L, D, dh, H, Hkv = inputs.shape
    a = inputs.arith
    mask = np.asarray(out["mask"]).reshape(-1, L, L)
    needed = np.asarray(out["key_needed"]).reshape(-1, L)
    counts = np.asarray(out["round_candidates"]).sum(axis=0)
    c1 = counts[0]
    rounds = ", ".join(f"C{r + 1}={int(c)} ({c / c1:.1%})" for r, c in enumerate(counts))
    if a.uses_lo_path:
        pred = (f"predictor={a.predictor} ddf={a.ddf_mode} round_bits={','.join(map(str, a.round_bits))}")
    else:
        pred = {"dense": "predictor=dense",
                "sanger": f"predictor=sanger sg_thresh={a.sg_thresh} (p >= {a.sg_thresh / 65536:.2g})",
                "topk": f"predictor=topk topk_k={a.topk_k}"}[a.predictor]
    work = ", ".join(f"{int(out[k]):,} {label}" for k, label in (
        ("pred_shift_adds", "shift-adds"), ("pred_mac4", "4-bit MACs"), ("pred_exps", "exponentials"),
        ("pred_compares", "comparisons")) if k in out and int(out[k]))
    lines = [
        f"layer: L={L} D={D} dh={dh} H={H} Hkv={Hkv} causal={int(a.causal)} rope={int(a.rope)} {pred}",
        f"candidates per round (all heads): {rounds}",
        f"mask: {int(mask.sum())} pairs kept = {mask.sum() / c1:.1%} of C1; "
        f"key_needed: {int(needed.sum())}/{needed.size} K/V rows ({needed.mean():.1%})",
        f"work: dense {int(out['dense_macs']):,} MACs, execution {int(out['exec_macs']):,} MACs "
        f"(reduction {float(out['exec_reduction']):.1%}), prediction {work or 'none'}",
    ]
    if "cycles" in out:   # the RTL backend: its counters
        c = {k: int(out[k]) for k in ("cycles", "cycles_spec", "cycles_exec", "cycles_stall", "kv_rows") if k in out}
        lines.append(f"hardware: {c['cycles']:,} cycles (speculation busy {c.get('cycles_spec', 0):,}, "
                     f"execution busy {c.get('cycles_exec', 0):,}, memory stall {c.get('cycles_stall', 0):,}), "
                     + (f"{c.get('kv_rows', 0):,} K/V rows computed" if a.predictor not in ("sanger", "topk") else
                        f"{Hkv * L:,} k rows (every token, pre-phase), {c.get('kv_rows', 0):,} V rows, "
                        f"{H * L:,} q rows projected twice"))
    return "\n".join(lines)
