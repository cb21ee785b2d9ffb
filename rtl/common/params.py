"""Validation of leaf-block constructor parameters, with errors that name the parameter."""

__all__ = ["require_int"]


def require_int(name, value, lo=1, why=""):
    """`value` must be an int >= `lo`; otherwise ValueError naming `name` (and `why`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} = {value!r}: must be an integer >= {lo}{' (' + why + ')' if why else ''}")
    return value
