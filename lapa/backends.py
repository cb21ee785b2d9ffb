"""Backends of `build.py run`: each maps validated `LayerInputs` to the outputs of SPEC section 6."""

from .errors import UserError

__all__ = ["BACKENDS", "run_backend"]


def _golden(inputs, **_):
    from golden.model import run_layer

    return run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)


def _rtl(inputs, **options):
    from host.rtl import run_rtl_layer

    return run_rtl_layer(inputs, **options)


BACKENDS = {"golden": _golden, "rtl": _rtl}


def run_backend(name, inputs, **options):
    if name not in BACKENDS:
        raise UserError(f"--backend = {name!r}: must be one of {', '.join(BACKENDS)}")
    return BACKENDS[name](inputs, **options)
