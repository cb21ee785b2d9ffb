"""The bad-input contract of every command (issue 19): one line naming the option, exit status 2,
nothing written; plus hypothesis-made bad options for every command, and `--help` defaults.

The named cases are the ones a user found (verilog / synth / demo / bench / run); the fuzzer draws,
for each command, one of its options and a value no option accepts (negative or huge integers,
non-numbers, nan / inf, empty lists) and asserts the same contract. By default a few hundred
cases; `-m slow` runs thousands.
"""

import argparse
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lapa.cli import _Formatter, build_parser, main

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def vec(tmp_path_factory):
    path = tmp_path_factory.mktemp("vec") / "in.npz"
    assert main(["example", str(path), "--seq-len", "8", "--d-model", "16", "--head-dim", "8",
                 "--n-heads", "2", "--n-kv-heads", "1"]) == 0
    return path


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, ds, fs in os.walk(root) for f in fs + ds)


def _refused(capsys, argv, root, fragment=None):
    before = _tree(root)
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, f"{argv}: exit {rc}"
    assert len(err) >= 1 and err[-1].startswith("error: "), f"{argv}: {err}"
    refusal = [line for line in err if line.startswith("error: ")]
    assert len(refusal) == 1 and "Traceback" not in "\n".join(err), f"{argv}: {err}"
    if fragment:
        assert fragment in refusal[0], f"{argv}: {refusal[0]}"
    assert _tree(root) == before, f"{argv}: left {set(_tree(root)) - set(before)}"
    return refusal[0]


@pytest.mark.parametrize("argv,fragment", [
    (["verilog", "{o}/v", "--mac-cols", "5"], "mac_cols = 5: must divide d_model = 576"),
    (["verilog", "{o}/v", "--pea-lanes", "3"], "pea_lanes = 3"),
    (["verilog", "{o}/v", "--d-model", "1", "--head-dim", "2"], "d_model = 1"),
    (["verilog", "{o}/v", "--head-dim", "8"], "pea_lanes is the default; set it with --pea-lanes"),
    (["synth", "--block", "speculation", "--pea-lanes", "5", "--out", "{o}/s"], "pea_lanes = 5"),
    (["verilog", "{f}"], "is a file, expected a folder"),
    (["synth", "--block", "pea", "--out", "{f}"], "is a file, expected a folder"),
    (["demo", "--out", "{f}"], "is a file, expected a folder"),
    (["demo", "--seq-len", "0", "--out", "{o}/d"], "--seq-len = 0"),
    (["bench", "golden", "--lengths", "0", "--json", "{o}/b.json"], "L = 0"),
    (["bench", "golden", "--repeat", "0", "--json", "{o}/b.json"], "--repeat = 0"),
    (["bench", "golden", "--head-dim", "0", "--json", "{o}/b.json"], "--head-dim = 0"),
    (["bench", "rtl", "--n-heads", "9", "--n-kv-heads", "2", "--json", "{o}/b.json"], "--n-kv-heads = 2"),
    (["synth", "--clock-ns", "nan", "--block", "pea", "--out", "{o}/s"], "--clock-ns = nan"),
    (["synth", "--block", ",", "--out", "{o}/s"], "--block = ','"),
    (["synth", "--block", "nosuch", "--out", "{o}/s"], "nosuch"),
    (["run", "{v}", "{o}/r.npz", "--backend", "rtl", "--n-heads", "1"], "--n-heads 1: the layer has H = 2"),
    (["run", "{v}", "{o}/r.npz", "--backend", "rtl", "--max-seq-len", "4"], "--max-seq-len 4: the layer has L = 8"),
    (["run", "{v}", "{o}/r.npz", "--backend", "rtl", "--waves", "{v}"], "--waves"),
    (["run", "{v}", "{v}"], "is also the input"),
    (["example", "{o}"], "is a folder"),
])
def test_named_refusals(tmp_path, capsys, vec, argv, fragment):
    f = tmp_path / "afile"
    f.write_text("x")
    argv = [a.format(o=tmp_path, f=f, v=vec) for a in argv]
    _refused(capsys, argv, tmp_path, fragment)
    assert vec.exists()


def test_golden_backend_warns_about_rtl_options(tmp_path, capsys, vec):
    assert main(["run", str(vec), str(tmp_path / "o.npz"), "--pea-lanes", "4", "--waves",
                 str(tmp_path / "w.fst"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: --pea-lanes, --waves ignored by the golden backend" in err
    assert not (tmp_path / "w.fst").exists()


def test_failed_verilog_leaves_nothing(tmp_path, capsys, monkeypatch):
    """A failure in the middle of generation (here: the second block) writes no file at all."""
    import rtl.generate

    real, calls = rtl.generate.to_verilog, []

    def flaky(*a, **k):
        calls.append(1)
        text = real(*a, **k)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return text

    monkeypatch.setattr(rtl.generate, "to_verilog", flaky)
    out = tmp_path / "v"
    assert main(["verilog", str(out), "--block", "all", "--d-model", "16", "--head-dim", "8",
                 "--max-seq-len", "8", "--pea-lanes", "4", "--peb-lanes", "4", "--mac-rows", "1",
                 "--mac-cols", "4", "--av-lanes", "4", "--n-heads", "1", "--n-kv-heads", "1"]) == 130
    assert _tree(tmp_path) == []


def test_verilog_output_has_normal_permissions(tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["verilog", str(out), "--block", "pea", "--d-model", "16", "--head-dim", "8",
                 "--max-seq-len", "8", "--pea-lanes", "4", "--peb-lanes", "4", "--mac-rows", "1",
                 "--mac-cols", "4", "--av-lanes", "4"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "pea.v").exists() and (out / "config.json").exists()
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask
    assert os.stat(out / "pea.v").st_mode & 0o777 == 0o666 & ~umask


def _subparsers():
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_every_option_shows_its_default():
    fmt = _Formatter("build.py")
    missing = []
    for name, sp in _subparsers().items():
        assert sp.formatter_class is _Formatter, name
        for a in sp._actions:
            if a.option_strings and a.default not in (None, False, argparse.SUPPRESS):
                if "default" not in fmt._get_help_string(a):
                    missing.append(f"{name} {a.option_strings[0]}")
    assert missing == []


# --- fuzzing: one bad option value per case ------------------------------------------------------

BAD_INTS = ["-7", "-99999999999", "99999999999", "abc", "1.5", "nan", "", "0x10", "1,,2,x"]
BAD_FLOATS = ["nan", "inf", "-inf", "-1", "1e400", "abc", ""]
# values some options legitimately accept (a huge seed, no SRAM macro at all)
ACCEPTS = {"--seed": {"99999999999"}, "--sram-min-bits": {"99999999999"}}
FLOAT_TEXT = {"--eta", "--margin-nats", "--sg-prob", "--topk-keep"}   # eval parses these itself
SKIP = {"-h", "--help", "--quiet", "--lint", "--resume", "--merge", "--cache-dir", "--export-vectors",
        "--liberty", "--driving-cell", "--json", "--out", "--waves", "--block", "--layers"}


FUZZED = ("example", "run", "verilog", "synth", "demo", "bench", "eval", "perf")   # the user-facing commands


def _base(command, tmp, vec):
    return {"example": ["example", f"{tmp}/e.npz"], "run": ["run", str(vec), f"{tmp}/r.npz"],
            "verilog": ["verilog", f"{tmp}/v"], "synth": ["synth", "--out", f"{tmp}/s"],
            "demo": ["demo", "--out", f"{tmp}/d"], "bench": ["bench", "golden", "--json", f"{tmp}/b.json"],
            "eval": ["eval", "--out", f"{tmp}/ev"], "perf": ["perf", str(vec), "--json", f"{tmp}/p.json"]}[command]


def _options():
    out = []
    for name, sp in _subparsers().items():
        if name not in FUZZED:
            continue
        for a in sp._actions:
            opt = a.option_strings[0] if a.option_strings else None
            if opt is None or opt in SKIP or isinstance(a, argparse._StoreTrueAction):
                continue
            out.append((name, opt, a))
    return out


OPTIONS = _options()


@st.composite
def _bad_case(draw):
    command, opt, action = draw(st.sampled_from(OPTIONS))
    if action.choices is not None:
        value = draw(st.sampled_from(["", "nosuch", "-1", "2", "LAPA"]))
        if value in map(str, action.choices):
            value = "nosuch"
    elif action.type is float or opt in FLOAT_TEXT:
        value = draw(st.sampled_from(BAD_FLOATS))
    else:
        value = draw(st.sampled_from([v for v in BAD_INTS if v not in ACCEPTS.get(opt, ())]))
    return command, opt, value


def _fuzz(case, tmp_path_factory, capsys, vec):
    command, opt, value = case
    tmp = tmp_path_factory.mktemp("fz")
    argv = _base(command, tmp, vec) + [f"{opt}={value}"]
    line = _refused(capsys, argv, tmp)
    bare = opt.lstrip("-").replace("-", "_")
    assert opt in line or bare in line or command in line, f"{argv}: {line} does not name {opt}"


@FAST
@given(case=_bad_case())
def test_fuzz_bad_options(case, tmp_path_factory, capsys, vec):
    _fuzz(case, tmp_path_factory, capsys, vec)


@pytest.mark.slow
@SLOW
@given(case=_bad_case())
def test_fuzz_bad_options_many(case, tmp_path_factory, capsys, vec):
    _fuzz(case, tmp_path_factory, capsys, vec)


def test_summary_prints_the_rtl_counters(vec):
    import numpy as np

    from lapa.backends import run_backend
    from lapa.summary import layer_summary
    from lapa.vectors import load_vectors

    inputs = load_vectors(vec)
    out = run_backend("golden", inputs)
    assert "hardware:" not in layer_summary(inputs, out)
    out.update({k: np.asarray(v) for k, v in (("cycles", 12345), ("cycles_spec", 1000), ("cycles_exec", 2000),
                                              ("cycles_stall", 30), ("kv_rows", 7))})
    assert ("hardware: 12,345 cycles (speculation busy 1,000, execution busy 2,000, memory stall 30), "
            "7 K/V rows computed") in layer_summary(inputs, out)


def test_npy_header_that_is_not_python_syntax(tmp_path, capsys, vec):
    """Found by the slow fuzzer: a header numpy cannot parse makes numpy's fallback tokenizer raise
    tokenize.TokenError, neither ValueError nor SyntaxError."""
    import zipfile

    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(vec) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "x.npy":
                data = data.replace(b"'shape': (", b"'shape': \xd7", 1)
            dst.writestr(info.filename, data)
    line = _refused(capsys, ["run", str(bad), str(tmp_path / "o.npz")], tmp_path)
    assert "key 'x' is not a readable .npy array" in line
