"""Per-block action counts of one production job (CTRL.trace = 0), as the RTL's state machines
perform them: PEA and PEB beats, pairs per round, MACs, A.V MACs, softmax elements, on-chip
buffer reads / writes and AXI bytes. Exact where the RTL counts (PAIRS_ROUND*, KV_ROWS, the units'
`perf` beats); the buffer accesses count the accesses that carry data (a read port enabled on an
idle cycle is not counted)."""

from __future__ import annotations

__all__ = ["action_counts"]

BUS_BYTES = 8


def pred_reads(profile, L, H):
    """topk's row buffer reads: every row's emit pass, and its search passes when it holds more
    than topk_k keys."""
    sizes = [t + 1 if profile.causal else L for t in range(L)]
    return H * sum(n * (profile.passes + 1) if n > profile.topk_k else n for n in sizes)


def action_counts(profile, hw) -> dict:
    L, D, dh, H, Hkv = profile.shape
    grp = H // Hkv
    G = dh // hw.pea_lanes
    CH = dh // hw.peb_lanes
    IC, JT = D // hw.mac_cols, dh // hw.mac_rows
    QC = dh // (hw.mac_rows * hw.mac_cols)
    AC = dh // hw.av_lanes
    mw = (L + 63) // 64
    R = profile.n_rounds
    spec = R > 0
    exact = profile.predictor in ("sanger", "topk")     # the execution unit's pre-phase
    c1 = H * (L * (L + 1) // 2 if profile.causal else L * L)   # pairs of C_1, every head
    nnz = int(profile.mask.sum())
    nkv = int(profile.key_needed.sum())
    cands = [int(profile.cands[:, r].sum()) for r in range(R)]          # |C_1| .. |C_R|
    kept = cands[1:] + [nnz] if spec else ([nnz] if exact else [])       # survivors of each round
    pea_beats = (H + Hkv) * G * D * L if spec else 0                      # q of every head, k once per group
    peb_beats = sum(cands) * CH
    # what the hardware projects: with a pre-phase q twice per head (pre-phase, phase 3), k of
    # every token once per group, v of the needed keys; topk also scores all of C_1 once more
    q_rows, k_rows = (2 * H * L, Hkv * L) if exact else (H * L, nkv)
    proj_rows = q_rows + k_rows + nkv
    pre_scores = c1 if profile.predictor == "topk" else 0
    mac_beats = proj_rows * IC * JT + (nnz + pre_scores) * QC
    sram = {}

    def acc(name, reads, writes):
        sram[name] = {"reads": int(reads), "writes": int(writes)}

    if spec:
        acc("spec/xbuf", pea_beats, H * L * D)
        acc("spec/wbuf", pea_beats, (H + Hkv) * G * D)
        acc("spec/qbuf", H * L, H * L)
        acc("spec/kbuf", peb_beats, Hkv * L)
        acc("spec/ddf.buf", sum(cands), sum(cands))
        acc("spec/cands", sum(kept[:-1]), sum(kept[:-1]))
        if profile.rope:
            acc("spec/rope_table", (H + Hkv) * L, L)
    if exact:
        acc("pred/k4", c1 * CH if profile.predictor == "sanger" else 0, Hkv * L if profile.predictor == "sanger" else 0)
        acc("pred/softmax.scores" if profile.predictor == "sanger" else "pred/row_buf",
            c1 if profile.predictor == "sanger" else pred_reads(profile, L, H), c1)
    acc("exec/x_buf", proj_rows * IC * JT, Hkv * L * IC)
    acc("exec/wq_buf", q_rows * IC * JT, (2 if exact else 1) * H * JT * IC)
    acc("exec/wk_buf", k_rows * IC * JT, Hkv * JT * IC)
    acc("exec/wv_buf", nkv * IC * JT, Hkv * JT * IC)
    acc("exec/k_buf", nnz + pre_scores, k_rows)
    acc("exec/v_buf", nnz * AC, nkv)
    acc("exec/key_list", nnz * AC, nnz)
    acc("exec/prob_buf", nnz * AC, nnz)
    acc("exec/softmax.scores", nnz, nnz)
    acc("exec/softmax.exps", nnz, nnz)
    if profile.rope:
        acc("exec/rope_table", proj_rows, L)
    read = {"x (speculation)": H * L * D if spec else 0, "x (execution)": Hkv * L * D,
            "wq_lo": H * D * dh if spec else 0, "wk_lo": Hkv * D * dh if spec else 0,
            "wq": (2 if exact else 1) * H * D * dh, "wk": Hkv * D * dh, "wv": Hkv * D * dh,
            "mask": H * L * mw * BUS_BYTES if spec or exact else 0,
            "rope": L * 2 * dh if profile.rope else 0}
    written = {"mask": H * L * mw * BUS_BYTES if spec or exact else 0, "o": H * L * dh}
    pred = {}
    if profile.predictor == "sanger":     # 4-bit MACs of the score array, its softmax's elements
        pred = {"sanger_macs4": c1 * dh, "sanger_softmax_elements": c1}
    elif profile.predictor == "topk":     # the scores it takes, its row buffer reads
        pred = {"topk_scores": c1, "topk_row_reads": pred_reads(profile, L, H)}
    return {
        "pea_beats": pea_beats, "pea_shift_adds": pea_beats * hw.pea_lanes,
        "peb_beats": peb_beats, "peb_pairs_per_round": cands, "ddf_kept_per_round": kept,
        **{f"pairs_round{r + 1}": v for r, v in enumerate(kept)},
        "kv_rows": nkv, "mac_beats": mac_beats, "q_rows": q_rows, "k_rows": k_rows, **pred,
        "macs": proj_rows * D * dh + (nnz + pre_scores) * dh,
        "av_beats": nnz * AC, "av_macs": nnz * dh, "softmax_elements": nnz,
        "requant_rows": proj_rows, "o_rows": H * L,
        "sram": sram,
        "axi_read_bytes": read, "axi_written_bytes": written,
        "axi_read_total": sum(read.values()), "axi_written_total": sum(written.values()),
    }
