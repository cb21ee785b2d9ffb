"""build.py: example + run round trip, and every refusal path of a vector file (exit 2, no output)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from golden.model import run_layer
from lapa.cli import main
from golden.accounting import WORK_KEYS
from lapa.config import PREDICTORS, ConfigError
from lapa.vectors import LO_PATH_KEYS, load_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    path = tmp_path_factory.mktemp("vec") / "ex.npz"
    assert main(["example", str(path), "--seq-len", "20", "--d-model", "48", "--head-dim", "8",
                 "--n-heads", "4", "--n-kv-heads", "2", "--rope", "1", "--seed", "5"]) == 0
    return path


def test_example_run_round_trip(example, tmp_path, capsys):
    out = tmp_path / "out.npz"
    assert main(["run", "--backend", "golden", str(example), str(out)]) == 0
    assert "execution" in capsys.readouterr().out
    inputs = load_vectors(example)
    want = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
    with np.load(out) as got:
        for name in ("mask", "key_needed", "q_hat", "k_hat", "q", "k", "v", "o", "probs",
                     "round_candidates", "exec_macs", "dense_macs"):
            assert got[name].dtype == want[name].dtype
            assert np.array_equal(got[name], want[name]), name
        assert got["mask"].shape == (4, 20, 20) and got["key_needed"].shape == (2, 20)
        assert got["probs"].dtype == np.uint16


def test_single_head_example_has_2d_weights(tmp_path):
    path = tmp_path / "one.npz"
    assert main(["example", str(path), "--seq-len", "5", "--d-model", "16", "--head-dim", "4",
                 "--n-heads", "1", "--n-kv-heads", "1"]) == 0
    out = tmp_path / "o.npz"
    assert main(["run", str(path), str(out), "--quiet"]) == 0
    with np.load(out) as got:
        assert got["mask"].shape == (5, 5) and got["o"].shape == (5, 4)


def _mutate(example, tmp_path, **changes):
    with np.load(example) as npz:
        data = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        if v is None:
            del data[k]
        else:
            data[k] = v
    path = tmp_path / "bad.npz"
    np.savez(path, **data)
    return path


BAD = [
    ({"x": None}, "missing key 'x'"),
    ({"wq": None}, "missing key 'wq'"),
    ({"sm_mult": None}, "missing key 'sm_mult'"),
    ({"round_bits": None}, "missing key 'round_bits'"),
    ({"x": np.zeros((20, 48), np.float32)}, "key 'x' has dtype float32, expected int8"),
    ({"wk": np.zeros((2, 48, 8), np.int16)}, "key 'wk' has dtype int16"),
    ({"sh_qhat": np.float64(3.0)}, "key 'sh_qhat' has dtype float64"),
    ({"x": np.zeros(48, np.int8)}, "key 'x' has shape (48,)"),
    ({"x": np.zeros((20, 40), np.int8)}, "key 'wq'"),
    ({"wv": np.zeros((2, 48, 6), np.int8)}, "key 'wv' has shape (2, 48, 6)"),
    ({"wk": np.zeros((2, 48, 6), np.int8), "wv": np.zeros((2, 48, 6), np.int8)}, "key 'wk'"),
    ({"wk": np.zeros((3, 48, 8), np.int8), "wv": np.zeros((3, 48, 8), np.int8)}, "not a multiple"),
    ({"wk": np.zeros((48, 8), np.int8)}, "key 'wk' has shape (48, 8), expected 3-D"),
    ({"sm_frac_bits": np.int64(9)}, "sm_frac_bits = 9: out of range"),
    ({"ddf_mode": np.int64(2)}, "key 'ddf_mode' = 2"),
    ({"causal": np.int64(3)}, "key 'causal' = 3"),
    ({"round_bits": np.array([4, 3])}, "round_bits = (4, 3): slices must sum to 8"),
    ({"round_eta": np.array([1, 2, 3])}, "key 'round_eta' has shape (3,)"),
    ({"m_q": np.array([1, 2])}, "key 'm_q' has shape (2,), expected a scalar"),
    ({"n_o": np.int64(48)}, "n_o = 48"),
]


@pytest.mark.parametrize("changes,message", BAD, ids=[m for _, m in BAD])
def test_malformed_vector_file_refused(example, tmp_path, capsys, changes, message):
    bad = _mutate(example, tmp_path, **changes)
    out = tmp_path / "out.npz"
    assert main(["run", str(bad), str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0, err
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))


def test_unused_mode_lists_may_be_absent(example, tmp_path):
    bad = _mutate(example, tmp_path, round_eta=None, rope_base=None, pos0=None, rope=np.int64(0))
    assert main(["run", str(bad), str(tmp_path / "o.npz"), "--quiet"]) == 0


@pytest.fixture(scope="module")
def predictor_files(tmp_path_factory):
    """One small example file per SPEC 8 predictor."""
    folder = tmp_path_factory.mktemp("pred")
    paths = {}
    for p in PREDICTORS:
        paths[p] = folder / f"{p}.npz"
        assert main(["example", str(paths[p]), "--seq-len", "12", "--d-model", "32", "--head-dim", "8",
                     "--n-heads", "4", "--n-kv-heads", "2", "--rope", "1", "--predictor", p,
                     "--topk-keep", "0.3", "--sg-prob", "0.01"]) == 0
    return paths


@pytest.mark.parametrize("predictor", PREDICTORS)
def test_every_predictor_runs_through_the_cli(predictor_files, predictor, tmp_path, capsys):
    path = predictor_files[predictor]
    inputs = load_vectors(path)
    assert inputs.arith.predictor == predictor
    out = tmp_path / "o.npz"
    assert main(["run", str(path), str(out)]) == 0
    assert f"predictor={predictor}" in capsys.readouterr().out
    want = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
    with np.load(out) as got:
        for name in WORK_KEYS + ("mask", "q_hat", "k_hat", "k", "v", "o", "probs"):
            assert np.array_equal(got[name], want[name]), name
    if predictor == "topk":
        assert inputs.arith.topk_k == 4   # ceil(0.3 * 12)
    if predictor == "sanger":
        assert inputs.arith.sg_thresh == 655   # round(0.01 * 65536)


def test_file_without_predictor_is_lapa(predictor_files, tmp_path):
    path = _mutate(predictor_files["lapa"], tmp_path, predictor=None)
    assert load_vectors(path).arith.predictor == "lapa"


@pytest.mark.parametrize("predictor", ["dense", "sanger", "topk"])
def test_section3_keys_may_be_absent_without_section3(predictor_files, predictor, tmp_path):
    drop = {k: None for k in LO_PATH_KEYS}
    path = _mutate(predictor_files[predictor], tmp_path, **drop)
    a = load_vectors(path).arith
    assert a.predictor == predictor and a == load_vectors(predictor_files[predictor]).arith.replace(
        **{k: getattr(a, k) for k in LO_PATH_KEYS})


@pytest.mark.parametrize("predictor,key", [("sanger", "sg_mult"), ("sanger", "sg_shift"),
                                           ("sanger", "sg_thresh"), ("topk", "topk_k"),
                                           ("symlo", "sh_qhat"), ("symlo", "round_bits")])
def test_predictor_keys_required_where_used(predictor_files, predictor, key, tmp_path, capsys):
    bad = _mutate(predictor_files[predictor], tmp_path, **{key: None})
    assert main(["run", str(bad), str(tmp_path / "o.npz")]) == 2
    assert f"missing key '{key}'" in capsys.readouterr().err


@pytest.mark.parametrize("changes,message", [
    ({"predictor": np.int64(5)}, "key 'predictor' = 5: expected one of 0 (lapa)"),
    ({"predictor": np.float32(1)}, "key 'predictor' has dtype float32"),
    ({"topk_k": np.int64(0)}, "topk_k = 0: out of range"),
])
def test_bad_predictor_keys(predictor_files, tmp_path, capsys, changes, message):
    bad = _mutate(predictor_files["topk"], tmp_path, **changes)
    assert main(["run", str(bad), str(tmp_path / "o.npz")]) == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def symlo_unbuilt(monkeypatch):
    """A generator that builds every SPEC 8 predictor but symlo (today it builds all five): the
    refusal of a predictor it does not build, by name, stays tested."""
    import lapa.config

    monkeypatch.setattr(lapa.config, "BUILT_PREDICTORS", tuple(p for p in lapa.config.BUILT_PREDICTORS if p != "symlo"))


def test_rtl_backend_refuses_a_baseline_it_does_not_build(predictor_files, tmp_path, capsys, symlo_unbuilt):
    out = tmp_path / "o.npz"
    assert main(["run", "--backend", "rtl", str(predictor_files["symlo"]), str(out)]) == 2
    assert "predictor = 'symlo'" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("command", [["verilog", "out"], ["synth"], ["run", "--backend", "rtl", "i.npz", "o.npz"]])
def test_predictor_option_sets_the_generated_predictor(command, symlo_unbuilt):
    """`--predictor` on verilog / synth / run: HardwareConfig.predictor (verilog and synth: the
    job's too, one option); a predictor the generator does not build is refused naming it."""
    from lapa.cli import build_parser
    from lapa.cliargs import config_from_args

    args = build_parser().parse_args([*command, "--predictor", "lapa", "--d-model", "64"])
    assert args.predictor == "lapa"
    if command[0] != "run":
        cfg = config_from_args(args)
        assert cfg.hw.predictor == cfg.arith.predictor == "lapa"
        bad = build_parser().parse_args([*command, "--predictor", "symlo"])
        with pytest.raises(ConfigError, match="^predictor = 'symlo': the generator builds"):
            config_from_args(bad)


def test_bench_predictor_option(capsys, symlo_unbuilt):
    assert main(["bench", "rtl", "--predictor", "symlo", "--lengths", "8", "--d-model", "32",
                 "--head-dim", "16", "--n-heads", "1", "--n-kv-heads", "1"]) == 2
    assert "predictor = 'symlo'" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"not a zip file at all"])
def test_not_an_npz(tmp_path, capsys, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    assert main(["run", str(bad), str(tmp_path / "o.npz")]) == 2
    assert "not an .npz archive" in capsys.readouterr().err


def test_cli_process_exit_status_and_one_line(tmp_path):
    res = subprocess.run([sys.executable, "build.py", "run", str(tmp_path / "missing.npz"),
                          str(tmp_path / "o.npz")], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {tmp_path / 'missing.npz'}: no such file"
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("args,message", [
    (["--heads", "9", "--kv-heads", "2"], "--n-heads = 9: must be a multiple of --n-kv-heads = 2"),
    (["--seq-len", "0"], "--seq-len = 0"),
    (["--round-bits", "4,4", "--eta", "0.5"], "--eta has 1 values, expected 2"),
    (["--sm-frac-bits", "9"], "sm_frac_bits = 9"),
    (["--sg-prob", "1.5"], "--sg-prob = 1.5"),
    (["--topk-keep", "0"], "--topk-keep = 0"),
    (["--topk-k", "0"], "--topk-k = 0"),
    (["--predictor", "spatten"], "--predictor"),
])
def test_example_bad_options(tmp_path, capsys, args, message):
    out = tmp_path / "e.npz"
    assert main(["example", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_run_missing_output_folder(example, tmp_path, capsys):
    assert main(["run", str(example), str(tmp_path / "nope" / "o.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
