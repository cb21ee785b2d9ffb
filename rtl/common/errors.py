"""The HDL library's one error type: a request it cannot build (an unknown block name, ...).

A plain exception, so the library never imports the command line's `lapa.errors.UserError`;
`lapa.cli` prints it as one line and exits 2, like a `UserError`.
"""

__all__ = ["HDLConfigError"]


class HDLConfigError(ValueError):
    """A request the generator cannot build; the message names what is wrong."""
