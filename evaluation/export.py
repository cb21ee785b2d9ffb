"""`--export-vectors DIR`: vector files (SPEC section 6) of real quantized tensors.

One .npz per chosen layer: the int8 attention input of the first evaluation window (its first
`n_tokens` tokens), the layer's int8 q/k/v weights of all heads ([H, D, dh], [Hkv, D, dh]) and the
integer configuration calibrated for the setting, so that `build.py run --backend rtl` runs the
RTL on real data.
"""

from __future__ import annotations

import os

from lapa.vectors import arith_to_arrays, save_npz

__all__ = ["export_vectors"]


def export_vectors(evaluation, setting, layers, out_dir, n_tokens, predictor="lapa"):
    """Write `layerNN.npz` for each layer (the SPEC 8 `predictor`'s configuration); returns the paths."""
    from .predictors import IntegerPredictor

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    kind = "lapa" if predictor == "dense" else predictor
    pred = IntegerPredictor(evaluation.model, evaluation.calibrations, setting, kind)
    for layer in layers:
        x_f = evaluation.calib_x[layer][:n_tokens]
        x_q, cal, arith = pred.arith(layer, x_f)
        arith = arith.replace(predictor=predictor)
        path = os.path.join(out_dir, f"layer{layer:02d}.npz")
        save_npz(path, {"x": x_q, "wq": cal.wq, "wk": cal.wk, "wv": cal.wv, **arith_to_arrays(arith)})
        paths.append(path)
    return paths
