"""`evaluation` driver, predictors, calibration, export and `build.py eval` on a short context."""

import json
import os

import numpy as np
import pytest

from evaluation.calib import ddf_registers
from evaluation.driver import Evaluation, parse_layers
from evaluation.predictors import lapa_layer_masks
from evaluation.settings import Setting
from golden.calibration import calibrate_layer
from golden.model import run_layer
from lapa.cli import main
from lapa.errors import UserError
from lapa.vectors import load_vectors

CTX = 96
LAYERS = "0,10,20"  # predicted masks on three layers, the others dense: CI-sized


@pytest.fixture(scope="module")
def ev():
    return Evaluation(CTX, 1, LAYERS)


def _range(eta, **kw):
    return Setting("range", (4, 4), (eta,), (0.0,), **kw)


def test_eta_one_is_dense_exactly(ev):
    for kind in ("lapa", "oracle", "topk"):
        rec = ev.run(kind, _range(1.0))
        assert rec["ppl"] == ev.dense["ppl"], kind
        assert rec["density"] == 1.0 and rec["exec_reduction"] == 0.0


def test_density_falls_with_eta(ev):
    recs = [ev.run("lapa", _range(e)) for e in (1.0, 0.8, 0.5)]
    dens = [r["density"] for r in recs]
    assert dens[0] > dens[1] > dens[2] > 0.0
    red = recs[2]
    assert 0.0 < red["exec_reduction"] < 1.0 and red["pred_shift_adds"] > 0
    assert all(a >= b for a, b in zip(red["density_per_round"], red["density_per_round"][1:]))


def test_topk_matches_lapa_density_per_row(ev):
    from evaluation.predictors import LapaPredictor, TopKPredictor
    from evaluation.forward import rope_cos_sin, rope_float

    st = Setting("margin", (4, 4), (1.0,), (6.0,))
    lw, c = ev.model.layers[4], ev.model.config
    x = ev.calib_x[4]
    cos, sin = rope_cos_sin(CTX, c.head_dim, c.rope_base)
    q = rope_float((x @ lw["wq"].T).reshape(CTX, 9, 64).transpose(1, 0, 2), cos, sin)
    k = rope_float((x @ lw["wk"].T).reshape(CTX, 3, 64).transpose(1, 0, 2), cos, sin)
    lapa, _ = LapaPredictor(ev.model, ev.calibrations, st).masks(4, x, q, k)
    topk, counts = TopKPredictor(ev.model, ev.calibrations, st).masks(4, x, q, k)
    assert np.array_equal(topk.sum(axis=-1), lapa.sum(axis=-1))  # no ties in exact scores here
    assert not np.array_equal(topk, lapa)
    assert np.array_equal(counts[:, -1], topk.sum(axis=(1, 2)))


def test_one_layer_only(ev):
    one = Evaluation(CTX, 1, "3", model=ev.model, tokens=np.concatenate(ev.windows))
    assert one.dense["ppl"] == ev.dense["ppl"]
    rec = one.run("lapa", _range(0.5))
    assert rec["ppl"] != ev.dense["ppl"]
    assert rec["dense_macs"] * 3 == ev.run("lapa", _range(0.5))["dense_macs"]


def test_ddf_registers_match_golden_calibration(ev):
    st = Setting("margin", (3, 3, 2), (1.0,), (5.0, 7.0, 9.0), w_lo_mant_bits=1)
    wq, wk, wv = ev.model.head_weights(2)
    direct = calibrate_layer(ev.calib_x[2], wq, wk, wv, causal=True, rope=True, rope_base=100000,
                             ddf_mode="margin", round_bits=(3, 3, 2), margin_nats=(5.0, 7.0, 9.0),
                             eta=(1.0, 1.0, 1.0), w_lo_mant_bits=1)
    other = Setting("range", (3, 3, 2), (0.3,), (1.0,), "round", 1)  # same calibration key
    assert ddf_registers(ev.calibrations.get(2, other), st) == direct.arith


def test_export_vectors_run_in_golden_model(ev, tmp_path):
    from evaluation.export import export_vectors

    st = _range(0.6)
    (path,) = export_vectors(ev, st, [5], str(tmp_path), 48)
    inputs = load_vectors(path)
    assert inputs.x.shape == (48, 576) and inputs.wq.shape == (9, 576, 64) and inputs.arith.rope
    out = run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith)
    x_q, cal, arith = ev.calibrations.quantized(5, st, ev.calib_x[5][:48])
    assert arith == inputs.arith
    assert np.array_equal(out["mask"], lapa_layer_masks(x_q, cal, arith)[0])


def test_bad_input_is_a_user_error(ev):
    with pytest.raises(UserError, match="--ctx"):
        Evaluation(100000, 1, model=ev.model, tokens=np.zeros(10, dtype=np.int32))
    with pytest.raises(UserError, match="--windows"):
        Evaluation(64, 1000, model=ev.model, tokens=np.zeros(640, dtype=np.int32))
    with pytest.raises(UserError, match="--layers"):
        parse_layers("30", 30)
    with pytest.raises(UserError, match="eta"):
        Setting("range", (4, 4), (0.5, 0.5, 0.5))


@pytest.mark.parametrize("argv, word", [
    (["--sweep", "huge"], "--sweep"),
    (["--predictors", "lapa,magic"], "--predictors"),
    (["--ddf-mode", "sorted"], "ddf_mode"),
    (["--round-bits", "4,5"], "round_bits"),
    (["--ctx", "1024,2048", "--windows", "1,2,3"], "--windows"),
    (["--eta", "x"], "--eta"),
])
def test_cli_refuses_bad_options(argv, word, capsys):
    assert main(["eval", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and word in err and err.count("\n") == 1


def test_cli_writes_report_and_vectors(tmp_path, capsys):
    out, vec = tmp_path / "rep", tmp_path / "vec"
    assert main(["eval", "--ctx", "48", "--windows", "2", "--layers", "1", "--eta", "0.7",
                 "--predictors", "lapa,oracle", "--out", str(out), "--export-vectors", str(vec),
                 "--export-layers", "1", "--quiet"]) == 0
    data = json.loads((out / "report.json").read_text())
    kinds = [r["predictor"] for r in data["results"]]
    assert kinds == ["dense", "lapa", "oracle"]
    assert "## ctx 48, 2 windows" in (out / "report.md").read_text()
    assert os.path.getsize(out / "tradeoff.png") > 1000
    assert load_vectors(vec / "layer01.npz").x.shape == (48, 576)


@pytest.mark.slow
def test_full_sweep(tmp_path):
    """The issue's evaluation (long: hours on 2 cores): ctx 1024 x 8 and 2048 x 4 windows."""
    out = tmp_path / "eval"
    assert main(["eval", "--sweep", "full", "--ctx", "1024,2048", "--windows", "8,4",
                 "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    dense = [r for r in data["results"] if r["predictor"] == "dense"]
    assert dense[0]["ppl"] == pytest.approx(21.05, rel=0.01)
