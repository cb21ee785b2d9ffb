"""The code version of a task: a hash of the contents of the sources it depends on.

Content, not a commit: two checkouts of one commit agree, and any edit (committed or not) gives
a new version, so a result is never reused across a change of the code that made it. A worker
computes it again from its own tree before running a job and refuses one made for other code.
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["ROOT", "code_version", "git_describe"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIP_DIRS = {"__pycache__", ".pytest_cache"}
_SKIP_PATHS = {os.path.join("lapa", "commands")}   # the CLI: no task runs it
_SKIP_SUFFIXES = (".pyc", ".pyo")


def _files(folder):
    top = os.path.join(ROOT, folder)
    if os.path.isfile(top):
        yield folder
        return
    for dirpath, dirnames, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, ROOT)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")
                             and os.path.join(rel, d) not in _SKIP_PATHS)
        for f in sorted(filenames):
            if not f.endswith(_SKIP_SUFFIXES) and not f.startswith("."):
                yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def code_version(sources):
    """'src-' + 16 hex digits of sha256 over (path, contents) of every file under `sources`."""
    h = hashlib.sha256()
    for folder in sorted(sources):
        for rel in _files(folder):
            h.update(rel.replace(os.sep, "/").encode() + b"\0")
            with open(os.path.join(ROOT, rel), "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return "src-" + h.hexdigest()[:16]


def git_describe():
    """The checkout's commit and whether it has uncommitted changes (for the report only)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head or None, "dirty": bool(dirty)}
