"""The execution unit's stream layouts, runtime configuration and shape (`rtl/execution/unit.py`),
shared with the blocks that read its streams (`rtl/soc/results.py`) and its A.V feeder."""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from lapa.config import HardwareConfig

from rtl.soc.param_regs import param_layout

__all__ = ["KIND_Q", "KIND_K", "KIND_V", "exec_config_layout", "exec_shape", "proj_layout", "o_layout",
           "step_nested"]

KIND_Q, KIND_K, KIND_V = 0, 1, 2


def exec_config_layout(hw: HardwareConfig):
    """The runtime configuration the unit reads, one struct: the job's fields, then the rows of
    `lapa.fields` it consumes (SPEC 5 names and widths)."""
    return data.StructLayout({"seq_len": unsigned(hw.max_seq_len.bit_length()),
                              "n_q_heads": unsigned(hw.n_heads.bit_length()),
                              **param_layout("execution", hw.max_rounds)})


def proj_layout(hw: HardwareConfig):
    """One `proj` beat: a projected q, k or v row (KIND_*), its token, dh int8."""
    return data.StructLayout({"kind": 2, "row": unsigned(hw.seq_index_width),
                              "data": data.ArrayLayout(signed(8), hw.head_dim)})


def o_layout(hw: HardwareConfig):
    """One `o` beat: token, chunk (dh / av_lanes per row), av_lanes int8."""
    return data.StructLayout({"row": unsigned(hw.seq_index_width), "chunk": range(hw.head_dim // hw.av_lanes),
                              "data": data.ArrayLayout(signed(8), hw.av_lanes)})


def exec_shape(hw: HardwareConfig):
    """(IC, JT, QC, AC): beats per projected chunk, chunks per row, beats per score, A.V jobs
    per row (`HardwareConfig` guarantees they divide)."""
    D, dh, R, C, A = hw.d_model, hw.head_dim, hw.mac_rows, hw.mac_cols, hw.av_lanes
    return D // C, dh // R, dh // (R * C), dh // A


def step_nested(m, inner, inner_last, outer, outer_last, running):
    """One step of an (outer, inner) loop counter; `running` falls after the final step."""
    with m.If(inner == inner_last):
        m.d.sync += [inner.eq(0), outer.eq(outer + 1)]
        with m.If(outer == outer_last):
            m.d.sync += running.eq(0)
    with m.Else():
        m.d.sync += inner.eq(inner + 1)
