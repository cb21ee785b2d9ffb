"""Per-block action counts of one production job (CTRL.trace = 0), as the RTL's state machines
perform them: PEA and PEB beats, pairs per round, MACs, A.V MACs, softmax elements, on-chip
buffer reads / writes and AXI bytes. Exact where the RTL counts (PAIRS_ROUND*, KV_ROWS, the units'
`perf` beats); the buffer accesses count the accesses that carry data (a read port enabled on an
idle cycle is not counted)."""

from __future__ import annotations

__all__ = ["action_counts"]

BUS_BYTES = 8


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
    nnz = int(profile.mask.sum())
    nkv = int(profile.key_needed.sum())
    cands = [int(profile.cands[:, r].sum()) for r in range(R)]          # |C_1| .. |C_R|
    kept = cands[1:] + [nnz] if spec else []                              # survivors of each round
    pea_beats = (H + Hkv) * G * D * L if spec else 0                      # q of every head, k once per group
    peb_beats = sum(cands) * CH
    proj_rows = H * L + 2 * nkv
    mac_beats = proj_rows * IC * JT + nnz * QC
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
    acc("exec/x_buf", proj_rows * IC * JT, Hkv * L * IC)
    acc("exec/wq_buf", H * L * IC * JT, H * JT * IC)
    acc("exec/wk_buf", nkv * IC * JT, Hkv * JT * IC)
    acc("exec/wv_buf", nkv * IC * JT, Hkv * JT * IC)
    acc("exec/k_buf", nnz, nkv)
    acc("exec/v_buf", nnz * AC, nkv)
    acc("exec/key_list", nnz * AC, nnz)
    acc("exec/prob_buf", nnz * AC, nnz)
    acc("exec/softmax.scores", nnz, nnz)
    acc("exec/softmax.exps", nnz, nnz)
    if profile.rope:
        acc("exec/rope_table", proj_rows, L)
    read = {"x (speculation)": H * L * D if spec else 0, "x (execution)": Hkv * L * D,
            "wq_lo": H * D * dh if spec else 0, "wk_lo": Hkv * D * dh if spec else 0,
            "wq": H * D * dh, "wk": Hkv * D * dh, "wv": Hkv * D * dh,
            "mask": H * L * mw * BUS_BYTES if spec else 0,
            "rope": L * 2 * dh if profile.rope else 0}
    written = {"mask": H * L * mw * BUS_BYTES if spec else 0, "o": H * L * dh}
    return {
        "pea_beats": pea_beats, "pea_shift_adds": pea_beats * hw.pea_lanes,
        "peb_beats": peb_beats, "peb_pairs_per_round": cands, "ddf_kept_per_round": kept,
        **{f"pairs_round{r + 1}": v for r, v in enumerate(kept)},
        "kv_rows": nkv, "mac_beats": mac_beats,
        "macs": H * L * D * dh + 2 * nkv * D * dh + nnz * dh,
        "av_beats": nnz * AC, "av_macs": nnz * dh, "softmax_elements": nnz,
        "requant_rows": proj_rows, "o_rows": H * L,
        "sram": sram,
        "axi_read_bytes": read, "axi_written_bytes": written,
        "axi_read_total": sum(read.values()), "axi_written_total": sum(written.values()),
    }
