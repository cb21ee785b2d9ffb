"""The coverage bins themselves (no simulator): each data bin is hit exactly where it should be,
an owner test fails naming the bins its jobs missed, and host.job names every ERROR code."""

import numpy as np
import pytest

from golden.model import run_layer
from host.job import STATUS_ERROR, check_status, counter_values
from lapa.errors import UserError
from rtl.soc.regmap import CONFIG_CODES, ERROR_CODES, FAULT_CODES

from . import coverage_bins
from .test_top import HW, cases, corner_layer, layer


def bins(inputs):
    return coverage_bins.job_bins(inputs, run_layer(inputs.x, inputs.wq, inputs.wk, inputs.wv, inputs.arith), HW)


def test_data_bins_where_they_belong():
    one = bins(layer(1, 1, 1, 2))
    assert {"one_token", "causal", "rounds_2", "ddf_range", "prob_max"} <= one
    assert not one & {"max_length", "single_kept_key", "all_keys_kept", "round_keeps_all", "gqa", "mha"}
    keep_all = bins(layer(9, 2, 1, 6, round_bits=(2, 2, 2, 2), round_eta=(256,) * 4, round_margin=(0,) * 4,
                          causal=False))
    assert {"all_keys_kept", "round_keeps_all", "rounds_4", "gqa", "not_causal"} <= keep_all
    assert "round_prunes" not in keep_all
    corner = bins(corner_layer(16, 7))
    assert {f"sat_{n}_{d}" for n in coverage_bins.REQUANTS for d in ("hi", "lo")} <= corner
    plain = bins(layer(7, 4, 4, 3, causal=False, rope=True, pos0=5))
    assert not any(b.startswith("sat_") for b in plain) and {"mha", "rope"} <= plain


def test_owner_fails_naming_missed_bins():
    before = coverage_bins.hits()
    with pytest.raises(AssertionError, match="never hit: .*max_length"):
        coverage_bins.require("test_top_end_to_end", [bins(layer(1, 1, 1, 2))], record=False)
    with pytest.raises(KeyError, match="not listed"):
        coverage_bins.require("anything", [{"no_such_bin"}], record=False)
    everything = [bins(c) for c in cases()]
    coverage_bins.require("test_top_end_to_end", everything, record=False)   # the default cases hit all
    assert coverage_bins.hits() == before, "checks here must not count as end-to-end hits"


def test_every_error_code_named():
    check_status(0b10, 0)
    for name in CONFIG_CODES:
        with pytest.raises(UserError, match=f"refused the job: ERROR = {ERROR_CODES[name]} \\({name}\\): "):
            check_status(STATUS_ERROR, ERROR_CODES[name])
    for name in FAULT_CODES:
        with pytest.raises(UserError, match=f"bus fault: ERROR = {ERROR_CODES[name]} \\({name}\\): "):
            check_status(STATUS_ERROR, ERROR_CODES[name], 0x1240)
    with pytest.raises(UserError, match="burst at 0x1240"):
        check_status(STATUS_ERROR, ERROR_CODES["READ_DECERR"], 0x1240)
    with pytest.raises(UserError, match="unknown ERROR = 99"):
        check_status(STATUS_ERROR, 99)
    regs = {"CYCLES_TOTAL": 5, "CYCLES_TOTAL_HI": 2, "KV_ROWS": 7}
    regs.update({n: 0 for n in ("CYCLES_SPEC", "CYCLES_EXEC", "CYCLES_STALL", "PAIRS_ROUND1", "PAIRS_ROUND2",
                                "PAIRS_ROUND3", "PAIRS_ROUND4")})
    got = counter_values(regs)
    assert got["cycles_total"] == 5 + (2 << 32) and got["kv_rows"] == 7
    assert np.int64(got["cycles_total"]) > 1 << 32
