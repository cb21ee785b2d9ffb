"""Report writing shared by benchmarks and flows: a JSON record plus Markdown, written atomically."""

import json
import os
import tempfile

__all__ = ["write_text_atomic", "write_bytes_atomic", "write_json", "markdown_table", "check_output_file", "publish"]


def _umask():
    old = os.umask(0)
    os.umask(old)
    return old


def publish(tmp, path):
    """Give a finished temporary file the permissions a plain `open` would have (mkstemp makes
    it 0600) and rename it to `path`."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def check_output_file(path, inputs=(), what="output"):
    """Refuse an output path that cannot be a new file: empty, a folder (or ending in '/'), in a
    folder that does not exist or is not writable, or the same file as one of `inputs`."""
    from .errors import UserError

    text = os.fspath(path)
    if not text:
        raise UserError(f"{what} path is empty")
    if text.endswith(os.sep) or os.path.isdir(text):
        raise UserError(f"{text}: is a folder, expected a file name")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise UserError(f"{text}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{text}: folder {folder} is not writable")
    for inp in inputs:
        inp = os.fspath(inp)
        same = os.path.realpath(inp) == os.path.realpath(text)
        if not same and os.path.exists(text) and os.path.exists(inp):
            same = os.path.samefile(inp, text)
        if same:
            raise UserError(f"{text}: is also the input {inp}; refusing to overwrite it")


def write_text_atomic(path, text):
    """Write text to path via a temporary file and rename (never a half-written file)."""
    write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path, data):
    """Write bytes to path via a temporary file and rename (never a half-written file)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        publish(tmp, path)
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
