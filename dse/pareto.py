"""Pareto fronts: the points no other point beats on both figures (both minimized)."""

from __future__ import annotations

__all__ = ["front"]


def front(xs, ys):
    """Indices of the non-dominated points, by increasing x. A point is dominated when another is
    no worse on both figures and better on one; equal points are all on the front."""
    pts = list(zip(xs, ys))
    keep = []
    for i, (x, y) in enumerate(pts):
        if not any(x2 <= x and y2 <= y and (x2 < x or y2 < y) for x2, y2 in pts):
            keep.append(i)
    return sorted(keep, key=lambda i: (pts[i][0], pts[i][1]))
