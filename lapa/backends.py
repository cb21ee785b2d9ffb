"""Backends of `build.py run`: each maps validated `LayerInputs` to the outputs of SPEC section 6."""

from .errors import UserError

__all__ = ["BACKENDS", "run_backend"]


def available_memory():
    """Bytes of memory available to a new allocation (Linux MemAvailable; None elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _check_golden_memory(inputs):
    """The golden model holds one head's L x L work arrays (~64 bytes a pair, measured) and every
    head's mask and probabilities (3 bytes a pair): refuse a layer that cannot fit rather than die."""
    L, _, _, H, _ = inputs.shape
    need = L * L * (64 + 3 * H)
    avail = available_memory()
    if avail is not None and need > avail:
        raise UserError(f"L = {L}: the golden model needs about {need / 2**30:.1f} GiB for this layer's "
                        f"L x L arrays, more than the {avail / 2**30:.1f} GiB available")


def _golden(inputs, **_):
    from golden.model import run_layer

    _check_golden_memory(inputs)
    return run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)


def _rtl(inputs, **options):
    # the hardware generates the file's predictor (or --predictor); one it cannot build is refused there
    from host.rtl import run_rtl_layer

    return run_rtl_layer(inputs, **options)


BACKENDS = {"golden": _golden, "rtl": _rtl}


def run_backend(name, inputs, **options):
    if name not in BACKENDS:
        raise UserError(f"--backend = {name!r}: must be one of {', '.join(BACKENDS)}")
    return BACKENDS[name](inputs, **options)
