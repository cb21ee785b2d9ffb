"""PNG of perplexity change against execution reduction (SPEC 7 / 8), one curve per predictor and rule."""

from __future__ import annotations

__all__ = ["curve_key", "plot_tradeoff"]

_STYLE = {"lapa": "-o", "symlo": "-v", "oracle": "--s", "topk": ":^", "sanger": "-.D"}


def curve_key(rec):
    """The curve a record belongs to: predictor, then the knob it was swept over."""
    s, p = rec["setting"], rec["predictor"]
    if p == "sanger":
        return "sanger (p threshold)"
    if p == "topk":
        return "topk (k matched to lapa)" if s.get("topk_keep") is None else "topk (keep ratio)"
    if "matched_to" in rec:
        return f"{p} rounds at matched density"
    return f"{p} {s['ddf_mode']} R={len(s['round_bits'])} m{s['w_lo_mant_bits']} {s['w_lo_mode']}"


def plot_tradeoff(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ctxs = sorted({r["ctx"] for r in records})
    fig, axes = plt.subplots(1, len(ctxs), figsize=(7 * len(ctxs), 5), squeeze=False)
    for ax, ctx in zip(axes[0], ctxs):
        curves = {}
        for r in records:
            if r["ctx"] == ctx and r["setting"] is not None:
                curves.setdefault(curve_key(r), []).append(r)
        for key in sorted(curves):
            pts = sorted(curves[key], key=lambda r: r["exec_reduction"])
            style = _STYLE[pts[0]["predictor"]]
            if key.endswith("matched density"):
                style = style[-1]
            ax.plot([100 * p["exec_reduction"] for p in pts], [100 * p["ppl_change"] for p in pts],
                    style, label=key, markersize=4)
        for lim in (0.5, 2.0):
            ax.axhline(lim, color="grey", linewidth=0.7)
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlabel("execution reduction (SPEC 7 / 8), %")
        ax.set_ylabel("perplexity change against dense, %")
        ax.set_title(f"SmolLM2-135M, ctx {ctx}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
