"""`build.py`: one entry point; every module in `lapa/commands` adds one sub-command."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import commands
from .errors import UserError
from rtl.common.errors import HDLConfigError

__all__ = ["main", "build_parser"]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help shows its default (unless the text already says it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, argparse.SUPPRESS, False) or not action.option_strings:
            return text
        default = action.default
        if isinstance(default, (tuple, list)):
            default = ",".join(map(str, default))
        return f"{text} (default {default})" if text else f"default {default}"


class _Parser(argparse.ArgumentParser):
    """Option errors follow the bad-input contract: one line naming the option, exit status 2
    (argparse would print the whole usage first; `-h` still shows it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message}\n")


def build_parser():
    parser = _Parser(
        prog="build.py", description="LAPA accelerator generator: golden model, Verilog, "
        "regressions, synthesis and evaluation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # -h (0) or an option error (2, already printed)
        return exc.code
    try:
        return args.func(args) or 0
    except (UserError, HDLConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
