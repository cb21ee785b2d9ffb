"""Every registered block's Verilog is clean under `verilator --lint-only -Wall` (listed waivers only)."""

import pytest

from lapa.config import HardwareConfig, LapaConfig
from rtl.generate import to_verilog
from rtl.registry import blocks
from sim.lint import lint_verilog

SMALL = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, max_seq_len=16, n_heads=2,
                                     n_kv_heads=1, pea_lanes=4, peb_lanes=4, mac_rows=2,
                                     mac_cols=2, av_lanes=2))


@pytest.mark.parametrize("name", sorted(blocks()))
def test_block_lint_clean(name):
    text = to_verilog(blocks()[name].factory(SMALL), name)
    assert lint_verilog(text, name) == []
