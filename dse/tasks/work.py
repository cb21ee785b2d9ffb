"""`work`: the golden model (`build.py run --backend golden`) on the point's example layer:
SPEC 7 / 8 work accounting, execution reduction, mask density, key_needed."""

from __future__ import annotations

__all__ = ["run"]


def run(params):
    from lapa.backends import run_backend

    from .layer import example_inputs, layer_counts

    inputs = example_inputs(params)
    out = run_backend("golden", inputs)
    return {**layer_counts(inputs, out), "backend": "golden"}
