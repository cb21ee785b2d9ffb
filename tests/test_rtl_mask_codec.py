"""Mask packer/unpacker: kept-key lists <-> bit rows, against lapa.memlayout's packing."""

from rtl.generate import to_verilog
from sim.lint import lint_verilog
from sim.mask_codec import MaskCodecPair
from sim.runner import run_cocotb


def test_rtl_mask_codec(simulator):
    run_cocotb(to_verilog(MaskCodecPair(), "mask_codec"), "mask_codec", "sim.mask_codec",
               simulator=simulator)


def test_mask_codec_lint_clean():
    assert lint_verilog(to_verilog(MaskCodecPair(), "mask_codec"), "mask_codec") == []
