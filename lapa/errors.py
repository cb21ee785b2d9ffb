"""Errors a user caused (bad option, bad file): `build.py` prints them on one line and exits 2."""


class UserError(Exception):
    """An input the user can fix; the message names what is wrong."""
