# amaranth: UnusedElaboratable=no
"""On-demand K/V control (SPEC 4.2): RTL schedules each needed key once per KV head."""

import pytest

from rtl.generate import to_verilog
from rtl.kv_control import KVControl
from sim.runner import run_cocotb

MAX_LEN = 24


def test_rtl_kv_control(simulator):
    run_cocotb(to_verilog(KVControl(max_seq_len=MAX_LEN), "kv_control"), "kv_control", "sim.kv_control",
               simulator=simulator, env={"MAX_LEN": MAX_LEN})


def test_kv_control_refuses():
    with pytest.raises(ValueError, match="max_seq_len"):
        KVControl(max_seq_len=0)
