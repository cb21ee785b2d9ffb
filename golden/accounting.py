"""Work accounting of SPEC sections 7 and 8: dense MACs, execution MACs, prediction work per predictor."""

import numpy as np

__all__ = ["work_accounting", "WORK_KEYS"]

# Every predictor reports every key (0 where a kind of work does not apply), so records line up.
WORK_KEYS = ("dense_macs", "exec_macs", "pred_shift_adds", "pred_mac4", "pred_exps", "pred_compares",
             "exec_reduction")


def work_accounting(*, n_tokens, d_model, head_dim, n_heads, n_kv_heads,
                    pairs_c1, key_needed_counts, mask_nnz, cand_counts, predictor="lapa"):
    """Counts per layer (summed over heads).

    `pairs_c1` is P = |C_1| of one head, `key_needed_counts[g]` |key_needed| of KV head g,
    `mask_nnz[h]` nnz(M) of query head h and `cand_counts[h][r]` |C_r| (r = 1..R; used by the
    section-3 predictors lapa and symlo only). K rows computed: L per KV head under sanger and topk
    (their prediction needs every k), |key_needed| otherwise; V rows: |key_needed|.
    """
    L, D, dh, H, Hkv, P = n_tokens, d_model, head_dim, n_heads, n_kv_heads, pairs_c1
    nv = int(np.sum(key_needed_counts))
    nk = Hkv * L if predictor in ("sanger", "topk") else nv
    nnz = int(np.sum(mask_nnz))
    dense = H * L * D * dh + 2 * Hkv * L * D * dh + 2 * H * P * dh
    if predictor == "topk":   # every exact score on C_1, A.V on the kept keys only
        execm = H * L * D * dh + (nk + nv) * D * dh + H * P * dh + nnz * dh
    else:
        execm = H * L * D * dh + (nk + nv) * D * dh + 2 * nnz * dh
    lo_path = predictor in ("lapa", "symlo")
    return {
        "dense_macs": int(dense),
        "exec_macs": int(execm),
        "pred_shift_adds": int((H + Hkv) * L * D * dh + int(np.sum(cand_counts)) * dh) if lo_path else 0,
        "pred_mac4": int(H * P * dh) if predictor == "sanger" else 0,
        "pred_exps": int(H * P) if predictor == "sanger" else 0,
        "pred_compares": int(H * P) if predictor == "topk" else 0,
        "exec_reduction": 1.0 - execm / dense,
    }
