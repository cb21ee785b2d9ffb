"""Pareto plots: every point labelled with its setting, the front highlighted and joined."""

from __future__ import annotations

import io

from lapa.report import write_bytes_atomic

__all__ = ["pareto_plot"]


def pareto_plot(path, points, front_idx, xlabel, ylabel, title, note=None):
    """`points`: [(x, y, label, marker kind)]; the kinds ('measured', 'model') get a legend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5))
    ax = fig.subplots()
    on = set(front_idx)
    styles = {"measured": "o", "model": "s"}
    for kind in sorted({p[3] for p in points}):
        sel = [i for i, p in enumerate(points) if p[3] == kind]
        ax.scatter([points[i][0] for i in sel if i not in on], [points[i][1] for i in sel if i not in on],
                   marker=styles.get(kind, "o"), color="#bbbbbb", label=kind,
                   zorder=2)
        ax.scatter([points[i][0] for i in sel if i in on], [points[i][1] for i in sel if i in on],
                   marker=styles.get(kind, "o"), color="#cc3311", zorder=3,
                   label=f"{kind}, on the front")
    ax.plot([points[i][0] for i in front_idx], [points[i][1] for i in front_idx], "-",
            color="#cc3311", linewidth=1, zorder=1, drawstyle="steps-post")
    same = {}          # front points at the same place: one label, the first and how many more
    for i in front_idx:
        same.setdefault(points[i][:2], []).append(i)
    for group in same.values():    # only the front is labelled: the report's tables name every point
        i = group[0]
        x, y, label, _ = points[i]
        label += f" (+{len(group) - 1} more)" if len(group) > 1 else ""
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 5), fontsize=6, color="#cc3311")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="#555555")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.03 if note else 0, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_bytes_atomic(path, buf.getvalue())
