"""Report writing shared by benchmarks and flows: a JSON record plus Markdown, written atomically."""

import json
import os
import tempfile

__all__ = ["write_text_atomic", "write_json", "markdown_table"]


def write_text_atomic(path, text):
    """Write text to path via a temporary file and rename (never a half-written file)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, record):
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def markdown_table(headers, rows):
    """A GitHub-flavoured Markdown table."""
    out = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(out)
