# amaranth: UnusedElaboratable=no
"""The predictor slot signature: members, directions, widths, and that `wiring.connect` checks it."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig
from rtl.predictors.slot import PREDICTOR_INPUTS, PredictorSlot

HW = HardwareConfig(d_model=32, head_dim=16, max_seq_len=32, n_heads=9, n_kv_heads=3,
                    pea_lanes=16, peb_lanes=16, mac_rows=2, mac_cols=8, av_lanes=8)


class _Side(wiring.Component):
    def __init__(self, flow, hw):
        super().__init__({"slot": flow(PredictorSlot(hw))})

    def elaborate(self, platform):
        return Module()


def test_slot_members_and_directions():
    sig = PredictorSlot(HW)
    out = {n for n, mem in sig.members.items() if mem.flow == Out}
    assert out == {"busy", "kept", "needed", "hat"}
    assert {n for n, mem in sig.members.items() if mem.flow == In} == {"start", "job", *PREDICTOR_INPUTS}
    kept = sig.members["kept"].signature.members["payload"].shape
    assert kept.size == HW.seq_index_width + 1
    score = sig.members["scores"].signature.members["payload"].shape
    assert score["score"].shape.width == HW.score_width and score["score"].shape.signed
    assert sig.members["q"].signature.members["payload"].shape["data"].shape.length == HW.head_dim
    assert sig.members["job"].shape["seq_len"].shape.width == HW.max_seq_len.bit_length()
    assert sig == PredictorSlot(HW) and sig != PredictorSlot(HW.replace(max_seq_len=64))


def test_slot_connects_only_to_its_own_shape():
    m = Module()
    wiring.connect(m, _Side(Out, HW).slot, _Side(In, HW).slot)
    with pytest.raises(wiring.ConnectionError):
        wiring.connect(Module(), _Side(Out, HW).slot, _Side(In, HW.replace(max_seq_len=64)).slot)
