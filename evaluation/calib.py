"""Per-layer calibration with the golden model (SPEC section 5, host side).

`golden.calibration.calibrate_layer` runs once per layer on the attention input of the first
window of the dense model (the calibration window); its scales then quantize every window.
The DDF registers of other settings with the same weight LO code and round slices are derived
with the golden model's own `eta_to_int` / `margin_to_int`, so a sweep calibrates each layer
once per (w_lo_mode, w_lo_mant_bits, round_bits) rather than once per threshold.
"""

from __future__ import annotations

import numpy as np

from golden.calibration import calibrate_layer, eta_to_int, margin_to_int, prob_to_thresh, quantize

__all__ = ["LayerCalibrations", "ddf_registers"]


def ddf_registers(cal, setting, predictor="lapa"):
    """The ArithConfig of `cal` with the DDF rule and thresholds of `setting` (SPEC 3.5), and the
    SPEC 8 predictor with Sanger's threshold (`topk_k` is chosen per window by the top-k predictor)."""
    a = cal.arith
    dh = cal.wq.shape[-1]
    unit = cal.scales["q_hat"] * cal.scales["k_hat"]
    margins = tuple(margin_to_int(d, dh, unit * 2.0 ** (8 - c))
                    for d, c in zip(setting.margin_nats, np.cumsum(setting.round_bits)))
    etas = tuple(eta_to_int(e, a.eta_frac_bits) for e in setting.eta)
    return a.replace(ddf_mode=setting.ddf_mode, round_eta=etas, round_margin=margins, predictor=predictor,
                     sg_thresh=prob_to_thresh(setting.sg_prob))


class LayerCalibrations:
    """Calibrations per (layer, weight LO code, round slices, symlo or not), computed on first use
    (symlo's PEA sees LO-coded x, so its q_hat / k_hat shifts are calibrated apart)."""

    def __init__(self, model, calib_x):
        self.model = model
        self.calib_x = calib_x  # layer -> float32 [L, D] attention input of the calibration window
        self._cache = {}

    def get(self, layer, setting, predictor="lapa"):
        symlo = predictor == "symlo"
        key = (layer, setting.w_lo_mode, setting.w_lo_mant_bits, setting.round_bits, symlo)
        if key not in self._cache:
            c = self.model.config
            wq, wk, wv = self.model.head_weights(layer)
            self._cache[key] = calibrate_layer(
                self.calib_x[layer], wq, wk, wv, causal=True, rope=True,
                rope_base=int(round(c.rope_base)), ddf_mode=setting.ddf_mode,
                round_bits=setting.round_bits, eta=setting.eta, margin_nats=setting.margin_nats,
                w_lo_mode=setting.w_lo_mode, w_lo_mant_bits=setting.w_lo_mant_bits,
                predictor="symlo" if symlo else "lapa")
        return self._cache[key]

    def quantized(self, layer, setting, x_f, predictor="lapa"):
        """(int8 x of this window, int8 weights, ArithConfig of `setting` and `predictor`) for one layer."""
        cal = self.get(layer, setting, predictor)
        return quantize(x_f, cal.scales["x"]), cal, ddf_registers(cal, setting, predictor)
