"""`verilator --lint-only -Wall` on generated Verilog, with the project's listed waivers."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .runner import tool_env

__all__ = ["WAIVERS", "lint_verilog"]

# Every waiver with its reason lives in this one file.
WAIVERS = Path(__file__).resolve().parent.parent / "constraints" / "verilator_waivers.vlt"


def lint_verilog(verilog_text: str, top: str) -> list[str]:
    """Warnings and errors Verilator reports (an empty list means clean)."""
    env = dict(os.environ, **tool_env())
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{top}.v"
        src.write_text(verilog_text)
        cmd = ["verilator", "--lint-only", "-Wall", "--top-module", top, str(WAIVERS), str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith("%")]
    if res.returncode and not lines:
        lines = [f"verilator exited {res.returncode}: {res.stderr.strip()[:500]}"]
    return lines
