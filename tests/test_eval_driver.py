"""`evaluation` driver, predictors, calibration, export and `build.py eval` on a short context."""

import json
import os

import numpy as np
import pytest

from evaluation.calib import ddf_registers
from evaluation.driver import Evaluation, parse_layers
from evaluation.predictors import IntegerPredictor, integer_layer_masks
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
    for kind in ("lapa", "symlo", "oracle"):
        rec = ev.run(kind, _range(1.0))
        assert rec["ppl"] == ev.dense["ppl"], kind
        assert rec["density"] == 1.0 and rec["exec_reduction"] == 0.0
    rec = ev.run("sanger", Setting(sg_prob=0.0))          # sg_thresh = 0 keeps C_1
    assert rec["ppl"] == ev.dense["ppl"] and rec["density"] == 1.0
    assert rec["exec_reduction"] == 0.0 < rec["pred_mac4"]   # no saving, but the prediction work is spent
    rec = ev.run("topk", Setting(topk_keep=1.0))
    assert rec["ppl"] == ev.dense["ppl"] and rec["density"] == 1.0 and rec["pred_compares"] > 0


def test_density_falls_with_eta(ev):
    recs = [ev.run("lapa", _range(e)) for e in (1.0, 0.8, 0.5)]
    dens = [r["density"] for r in recs]
    assert dens[0] > dens[1] > dens[2] > 0.0
    red = recs[2]
    assert 0.0 < red["exec_reduction"] < 1.0 and red["pred_shift_adds"] > 0
    assert all(a >= b for a, b in zip(red["density_per_round"], red["density_per_round"][1:]))


def test_integer_predictors_are_the_golden_model(ev):
    """Every SPEC 8 predictor's mask in the evaluation equals golden run_layer's on the same int8 data."""
    st = Setting("margin", (4, 4), (1.0,), (6.0,), sg_prob=0.01)
    x = ev.calib_x[4]
    for kind in ("lapa", "sanger", "topk", "symlo"):
        x_q, cal, arith = IntegerPredictor(ev.model, ev.calibrations, st, kind).arith(4, x)
        assert arith.predictor == kind
        mask, counts = integer_layer_masks(x_q, cal, arith)
        out = run_layer(x_q, cal.wq, cal.wk, cal.wv, arith)
        assert np.array_equal(mask, out["mask"]), kind
        assert np.array_equal(counts[:, -1], mask.sum(axis=(1, 2)))


def test_topk_matched_to_lapa_density(ev):
    st = Setting("margin", (4, 4), (1.0,), (6.0,))
    x = ev.calib_x[4]
    pred = IntegerPredictor(ev.model, ev.calibrations, st, "topk")
    x_q, cal, arith = pred.arith(4, x)
    lapa, counts = integer_layer_masks(*ev.calibrations.quantized(4, st, x))
    topk, _ = integer_layer_masks(x_q, cal, arith)
    rows = np.arange(1, CTX + 1)
    assert topk.sum() >= lapa.sum() > (9 * np.minimum(rows, arith.topk_k - 1)).sum()
    assert (topk.sum(axis=-1) == np.minimum(rows, arith.topk_k)).all()


def test_symlo_is_calibrated_apart(ev):
    st = _range(0.5)
    sym = ev.calibrations.get(2, st, "symlo").arith
    wq, wk, wv = ev.model.head_weights(2)
    direct = calibrate_layer(ev.calib_x[2], wq, wk, wv, causal=True, rope=True, rope_base=100000,
                             ddf_mode="range", round_bits=(4, 4), eta=(0.5, 0.5), predictor="symlo").arith
    assert (sym.sh_qhat, sym.sh_khat, sym.predictor) == (direct.sh_qhat, direct.sh_khat, "symlo")
    assert ev.calibrations.get(2, st, "lapa").arith.predictor == "lapa"
    rec = ev.run("symlo", _range(0.5))
    assert rec["predictor"] == "symlo" and 0.0 < rec["density"] < 1.0 and rec["pred_shift_adds"] > 0


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
    assert np.array_equal(out["mask"], integer_layer_masks(x_q, cal, arith)[0])


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
    (["--sg-prob", "2"], "--sg-prob"),
    (["--topk-keep", "0"], "--topk-keep"),
    (["--topk-keep", "0.1,0.2"], "--topk-keep"),
    (["--export-predictor", "magic"], "--export-predictor"),
    (["--margin-nats", "nan"], "margin_nats"),
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
    assert data["meta"]["analysis"] == {}
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
