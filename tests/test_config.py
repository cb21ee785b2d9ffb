"""The configuration dataclasses: defaults valid, every out-of-range value named in the error."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lapa.config import (ArithConfig, ConfigError, HardwareConfig, LapaConfig, config_from_dict,
                         config_to_dict)


def test_defaults_are_valid_and_frozen():
    cfg = LapaConfig()
    assert cfg.arith.n_rounds == 2 and cfg.arith.round_cum_bits == (4, 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.arith.sh_qhat = 3


@pytest.mark.parametrize("name,value,fragment", [
    ("rope_base", 0, "1..1048576"), ("pos0", 70000, "0..65536"), ("ddf_mode", "top-k", "range"),
    ("w_lo_mode", "ceil", "floor"), ("w_lo_mant_bits", 2, "0..1"), ("sh_qhat", 32, "0..31"),
    ("sh_khat", -1, "0..31"), ("m_q", 0, "1..65535"), ("n_o", 48, "0..47"), ("sm_mult", 65536, "1..65535"),
    ("sm_shift", 48, "0..47"), ("sm_frac_bits", 9, "1..8"), ("eta_frac_bits", 0, "1..8"),
    ("causal", 2, "0 or 1"), ("m_v", 1.5, "integer"),
    ("predictor", "spatten", "'lapa'"), ("sg_mult", 0, "1..65535"), ("sg_shift", 48, "0..47"),
    ("sg_thresh", 65536, "0..65535"), ("sg_thresh", -1, "0..65535"), ("topk_k", 0, "1..65536"),
    ("topk_k", 65537, "1..65536"),
])
def test_arith_out_of_range_names_parameter(name, value, fragment):
    with pytest.raises(ConfigError) as err:
        ArithConfig(**{name: value})
    msg = str(err.value)
    assert msg.startswith(name) and fragment in msg and (repr(value) in msg or str(value) in msg)


@pytest.mark.parametrize("changes,fragment", [
    ({"round_bits": (4, 3)}, "sum to 8"),
    ({"round_bits": (2, 2, 2, 1, 1), "round_eta": (1,) * 5, "round_margin": (0,) * 5}, "1..4 slices"),
    ({"round_bits": (8, 0), "round_eta": (1, 1)}, "round_bits[1] = 0"),
    ({"round_eta": (1,)}, "round_eta"),
    ({"round_eta": (1, 300)}, "round_eta[1] = 300"),
    ({"round_margin": (0, 2**31)}, "round_margin[1]"),
])
def test_round_lists_validated(changes, fragment):
    with pytest.raises(ConfigError, match=None) as err:
        ArithConfig(**changes)
    assert fragment in str(err.value)


@pytest.mark.parametrize("name,value", [("d_model", 0), ("head_dim", 7), ("max_seq_len", 0),
                                        ("n_kv_heads", 4), ("n_heads", 0), ("pea_lanes", 0), ("max_rounds", 5)])
def test_hardware_out_of_range_names_parameter(name, value):
    with pytest.raises(ConfigError) as err:
        HardwareConfig(**{"n_heads": 3, "n_kv_heads": 1, name: value})
    assert str(err.value).startswith(name)


def test_hardware_predictor_validated_and_in_the_one_config(monkeypatch):
    """`HardwareConfig.predictor`: a SPEC 8 name the generator builds; part of the frozen config
    (equality, the dict round trip the testbenches get)."""
    assert HardwareConfig().predictor == "lapa"
    with pytest.raises(ConfigError, match=r"^predictor = 'spatten': must be one of 'lapa'"):
        HardwareConfig(predictor="spatten")
    import lapa.config

    assert set(lapa.config.BUILT_PREDICTORS) == set(lapa.config.PREDICTORS)    # every SPEC 8 predictor
    for name in lapa.config.PREDICTORS:
        assert HardwareConfig(predictor=name).predictor == name
    monkeypatch.setattr(lapa.config, "BUILT_PREDICTORS", ("lapa", "dense", "sanger", "topk"))
    with pytest.raises(ConfigError, match=r"^predictor = 'symlo': the generator builds"):
        HardwareConfig(predictor="symlo")
    cfg = LapaConfig(hw=HardwareConfig(d_model=32))
    assert config_to_dict(cfg)["hw"]["predictor"] == "lapa"
    assert config_from_dict(config_to_dict(cfg)) == cfg
    assert config_from_dict({"hw": {"d_model": 32}}) == cfg   # a record from before the field


def test_heads_must_group():
    with pytest.raises(ConfigError, match="n_heads = 9: must be a multiple of n_kv_heads = 2"):
        HardwareConfig(n_heads=9, n_kv_heads=2)


def test_rounds_fit_hardware():
    with pytest.raises(ConfigError, match="max_rounds"):
        LapaConfig(arith=ArithConfig(round_bits=(2, 2, 4), round_eta=(1, 1, 1), round_margin=(0, 0, 0)),
                   hw=HardwareConfig(max_rounds=2))


def test_dict_round_trip_and_widths():
    cfg = LapaConfig(arith=ArithConfig(rope=True, round_bits=(2, 6)), hw=HardwareConfig(d_model=32))
    assert config_from_dict(config_to_dict(cfg)) == cfg
    hw = HardwareConfig(d_model=576, head_dim=64, max_seq_len=1024)
    assert hw.pea_acc_width >= (576 * 128 * 256).bit_length() + 1
    assert hw.seq_index_width == 10 and HardwareConfig(max_seq_len=1).seq_index_width == 1


@pytest.mark.parametrize("kw,fragment", [
    ({"d_model": 36, "mac_cols": 4}, "d_model = 36: must be a multiple of the 8-byte bus word"),
    ({"d_model": 1, "head_dim": 2}, "d_model = 1: must be a multiple of the 8-byte bus word"),
    ({"head_dim": 12, "pea_lanes": 4, "peb_lanes": 4, "mac_rows": 1, "mac_cols": 4, "av_lanes": 4},
     "head_dim = 12: must be a multiple of the 8-byte bus word"),
    ({"head_dim": 24, "av_lanes": 12, "pea_lanes": 8, "peb_lanes": 8, "mac_rows": 1},
     "av_lanes = 12: its bytes must divide"),
    ({"pea_lanes": 3}, "pea_lanes = 3: must divide head_dim = 64"),
    ({"pea_lanes": 5}, "pea_lanes = 5"), ({"peb_lanes": 48}, "peb_lanes = 48"),
    ({"mac_cols": 5}, "mac_cols = 5: must divide d_model = 576"),
    ({"mac_rows": 16, "mac_cols": 8}, "mac_rows * mac_cols = 128: must divide head_dim = 64"),
    ({"av_lanes": 3}, "av_lanes = 3"),
])
def test_hardware_refuses_what_the_generator_cannot_tile(kw, fragment):
    with pytest.raises(ConfigError, match=None) as err:
        HardwareConfig(**kw)
    assert fragment in str(err.value)


@st.composite
def _small_hw(draw):
    """Small shapes whose lane counts divide what they must (so most are valid)."""
    dh = draw(st.sampled_from([8, 16, 24]))
    d_model = draw(st.sampled_from([8, 16, 24, 32, 40]))
    divisors = [n for n in (1, 2, 3, 4, 6, 8, 12, 16) if dh % n == 0]
    cols = draw(st.sampled_from([c for c in (1, 2, 4, 8) if d_model % c == 0 and dh % c == 0]))
    rows = draw(st.sampled_from([r for r in (1, 2, 3, 4) if dh % (r * cols) == 0]))
    return {"d_model": d_model, "head_dim": dh, "pea_lanes": draw(st.sampled_from(divisors)),
            "peb_lanes": draw(st.sampled_from(divisors)), "mac_rows": rows, "mac_cols": cols,
            "av_lanes": draw(st.sampled_from(divisors))}


@settings(max_examples=6, deadline=None)
@given(_small_hw())
def test_a_valid_hardware_config_elaborates(kw):
    """`HardwareConfig` is the one place of the shape rules: whatever it accepts, the top level
    elaborates (whatever it refuses is named by the parametrized test above)."""
    from amaranth.hdl import Fragment

    from rtl.top import LapaTop

    try:
        hw = HardwareConfig(max_seq_len=16, n_heads=2, n_kv_heads=1, **kw)
    except ConfigError as exc:   # only the bus-word rules are left to refuse these shapes
        assert "bus word" in str(exc)
        return
    Fragment.get(LapaTop(LapaConfig(hw=hw)), None)
