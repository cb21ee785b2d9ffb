"""Work accounting of SPEC section 7: dense MACs, execution MACs, prediction shift-adds."""

import numpy as np

__all__ = ["work_accounting"]


def work_accounting(*, n_tokens, d_model, head_dim, n_heads, n_kv_heads,
                    pairs_c1, key_needed_counts, mask_nnz, cand_counts):
    """Counts per layer; `cand_counts[h][r]` is |C_r| of query head h (r = 1..R)."""
    L, D, dh, H, Hkv = n_tokens, d_model, head_dim, n_heads, n_kv_heads
    dense = H * L * D * dh + 2 * Hkv * L * D * dh + 2 * H * pairs_c1 * dh
    execm = H * L * D * dh + 2 * int(np.sum(key_needed_counts)) * D * dh + 2 * int(np.sum(mask_nnz)) * dh
    pred = (H + Hkv) * L * D * dh + int(np.sum(cand_counts)) * dh
    return {
        "dense_macs": int(dense),
        "exec_macs": int(execm),
        "pred_shift_adds": int(pred),
        "exec_reduction": 1.0 - execm / dense,
    }
