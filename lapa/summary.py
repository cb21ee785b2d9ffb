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
    lines = [
        f"layer: L={L} D={D} dh={dh} H={H} Hkv={Hkv} causal={int(a.causal)} rope={int(a.rope)} "
        f"ddf={a.ddf_mode} round_bits={','.join(map(str, a.round_bits))}",
        f"candidates per round (all heads): {rounds}",
        f"mask: {int(mask.sum())} pairs kept = {mask.sum() / c1:.1%} of C1; "
        f"key_needed: {int(needed.sum())}/{needed.size} K/V rows ({needed.mean():.1%})",
        f"work: dense {int(out['dense_macs']):,} MACs, execution {int(out['exec_macs']):,} MACs "
        f"(reduction {float(out['exec_reduction']):.1%}), prediction {int(out['pred_shift_adds']):,} shift-adds",
    ]
    return "\n".join(lines)
