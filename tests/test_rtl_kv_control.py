# amaranth: UnusedElaboratable=no
"""On-demand K/V control (SPEC 4.2): RTL schedules each needed key once per KV head."""

import pytest

from rtl.execution.kv_control import KVControl
from sim.blocks import run_block, small_config

SHAPES = [pytest.param(small_config(max_seq_len=24), id="L24"),
          pytest.param(small_config(max_seq_len=1), id="L1"),
          pytest.param(small_config(max_seq_len=67), id="L67", marks=pytest.mark.slow)]


@pytest.mark.parametrize("cfg", SHAPES)
def test_rtl_kv_control(simulator, cfg):
    run_block("kv_control", cfg, simulator=simulator)


def test_kv_control_refuses():
    with pytest.raises(ValueError, match="max_seq_len"):
        KVControl(max_seq_len=0)
