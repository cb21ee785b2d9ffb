"""Report writing shared by benchmarks and flows: a JSON record plus Markdown, written atomically."""

import contextlib
import json
import os
import shutil
import tempfile

__all__ = ["write_text_atomic", "write_bytes_atomic", "write_json", "markdown_table", "check_output_file",
           "check_output_folder", "output_folder", "publish"]


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
            raise UserError(f"{what} {text}: is also the input {inp}; refusing to overwrite it")


def _existing_folder(path):
    """The nearest folder above `path` that exists (missing parents are made only on success)."""
    parent = os.path.dirname(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    return parent


def check_output_folder(path, what="output folder"):
    """Refuse an output folder path that is empty, an existing file, or under a missing or
    read-only parent (the folder itself may exist: its files are replaced one by one)."""
    from .errors import UserError

    text = os.fspath(path)
    if not text:
        raise UserError(f"{what} path is empty")
    if os.path.exists(text) and not os.path.isdir(text):
        raise UserError(f"{text}: is a file, expected a folder")
    parent = _existing_folder(os.path.abspath(text.rstrip(os.sep) or os.sep))
    if not os.path.isdir(parent):
        raise UserError(f"{text}: {parent} is a file, not a folder")
    target = text if os.path.isdir(text) else parent
    if not os.access(target, os.W_OK | os.X_OK):
        raise UserError(f"{text}: {target} is not writable")


@contextlib.contextmanager
def output_folder(path, what="output folder"):
    """Work in a temporary folder beside `path` and move its files into `path` only when the
    block succeeds: a failed or interrupted command leaves no partial output and no new folder.
    Existing files in `path` that the command does not write are kept."""
    check_output_folder(path, what)
    final = os.path.abspath(os.fspath(path))
    anchor = _existing_folder(final)   # a folder: check_output_folder refused a file there
    tmp = tempfile.mkdtemp(prefix=f".tmp-{os.path.basename(final)}-", dir=anchor)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if not os.path.exists(final):
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.rename(tmp, final)
            return
        for root, dirs, files in os.walk(tmp):
            rel = os.path.relpath(root, tmp)
            dest = os.path.normpath(os.path.join(final, rel))
            os.makedirs(dest, exist_ok=True)
            for name in files:
                os.replace(os.path.join(root, name), os.path.join(dest, name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
