"""Backends of `build.py run`: each maps validated `LayerInputs` to the outputs of SPEC section 6."""

from .errors import UserError

__all__ = ["BACKENDS", "run_backend"]


def _golden(inputs, **_):
    from golden.model import run_layer

    return run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)


def _rtl(inputs, **options):
    if inputs.arith.predictor != "lapa":
        raise UserError(f"predictor = {inputs.arith.predictor!r}: the RTL backend generates the lapa "
                        "predictor only (the baseline predictors' hardware is not built yet)")
    try:
        from sim.layer import run_rtl_layer
    except ImportError:
        raise UserError("the RTL backend needs the top-level accelerator, which this "
                        "checkout does not have yet") from None
    return run_rtl_layer(inputs, **options)


BACKENDS = {"golden": _golden, "rtl": _rtl}


def run_backend(name, inputs, **options):
    if name not in BACKENDS:
        raise UserError(f"--backend = {name!r}: must be one of {', '.join(BACKENDS)}")
    return BACKENDS[name](inputs, **options)
