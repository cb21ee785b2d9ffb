"""The example layer of a point (`build.py example`'s generator), written as a vector file and
read back with `load_vectors`, so the work and cycles tasks see exactly what `build.py run` would."""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["example_inputs", "layer_counts"]


def _calibrate(params, predictor, topk_k=None):
    from golden.example import example_layer

    s = params["setting"]
    keep = s["topk_keep"]
    return example_layer(params["seq_len"], params["d_model"], params["head_dim"], params["n_heads"],
                         params["n_kv_heads"], seed=params["seed"], causal=params["causal"],
                         rope=params["rope"], ddf_mode=s["ddf_mode"], round_bits=tuple(s["round_bits"]),
                         eta=tuple(s["eta"]), margin_nats=tuple(s["margin_nats"]),
                         w_lo_mode=s["w_lo_mode"], w_lo_mant_bits=s["w_lo_mant_bits"],
                         predictor=predictor, sg_prob=s["sg_prob"],
                         topk_keep=0.25 if keep is None else keep, topk_k=topk_k)


def _matched_topk_k(params):
    """topk_k at LAPA's mask density on the same layer (a setting's topk_keep = 'match')."""
    from golden.calibration import topk_for_density
    from golden.model import run_layer

    cal = _calibrate(params, "lapa")
    out = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
    c1 = int(np.asarray(out["round_candidates"])[:, 0].sum())
    return topk_for_density(float(np.asarray(out["mask"]).sum()) / c1, params["seq_len"], params["causal"])


def example_inputs(params):
    """`LayerInputs` of the point's example layer (predictor and DDF setting calibrated in)."""
    from lapa.vectors import arith_to_arrays, load_vectors, save_npz

    predictor = params["predictor"]
    topk_k = _matched_topk_k(params) if predictor == "topk" and params["setting"]["topk_keep"] is None else None
    cal = _calibrate(params, predictor, topk_k)
    arrays = {"x": cal.x, "wq": cal.wq, "wk": cal.wk, "wv": cal.wv, **arith_to_arrays(cal.arith)}
    with tempfile.TemporaryDirectory(prefix="lapa-dse-") as tmp:
        path = os.path.join(tmp, "layer.npz")
        save_npz(path, arrays)
        return load_vectors(path)


def layer_counts(inputs, out):
    """The counts a layer's outputs give: SPEC 7 / 8 work, mask density of C_1, key_needed share,
    candidates per round (all heads) and what `host.job.ideal_cycles` needs."""
    from golden.accounting import WORK_KEYS

    L, D, dh, H, Hkv = inputs.shape
    cands = np.asarray(out["round_candidates"]).reshape(-1, inputs.arith.n_rounds).sum(axis=0)
    mask_nnz = int(np.asarray(out["mask"]).sum())
    needed = np.asarray(out["key_needed"])
    rec = {k: (float(out[k]) if k == "exec_reduction" else int(out[k])) for k in WORK_KEYS}
    rec.update(shape={"L": L, "D": D, "dh": dh, "H": H, "Hkv": Hkv},
               candidates=[int(c) for c in cands], mask_nnz=mask_nnz,
               density=mask_nnz / int(cands[0]), key_needed=int(needed.sum()),
               key_needed_share=float(needed.mean()),
               topk_k=inputs.arith.topk_k if inputs.arith.predictor == "topk" else None)
    return rec
