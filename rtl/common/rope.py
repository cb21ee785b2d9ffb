"""Integer RoPE of SPEC section 3a: the rotator of int8 rows and the loaded (c, s) table.

Used twice: on the prediction side for `q_hat`/`k_hat` (speculation unit) and on the execution
side for `q`/`k` after requant. Both use the same two components:

- `RopeRotator(head_dim=dh)`: one registered stream stage. Input beat `RopeBeat`: an int8 row
  `a` (dh values) with its table entries `c`, `s` (int16, dh/2 each, Q1.14) for that row's
  token position. Output: the rotated int8 row,
  `a'[i] = sat8(rshr(a[i]*c[i] - a[i+dh/2]*s[i], 14))`,
  `a'[i+dh/2] = sat8(rshr(a[i+dh/2]*c[i] + a[i]*s[i], 14))`.
  The runtime input `rope_en` (the SPEC `rope` configuration register; the port is not named
  `rope` because that is the Verilog module name of the registered block) = 0 passes `a` through unchanged, so the
  rotator can sit in the datapath permanently. Full throughput: one row per cycle; `i.ready`
  falls only while the output register is held by back-pressure.
- `RopeTable(head_dim=dh, max_seq_len=L)`: the (c, s) table as a `lib.memory.Memory` of
  `max_seq_len` rows, LOADED by the host (write port `w_*`), read with one cycle of latency
  (`r_addr` -> `r_data`). Loaded rather than a ROM because `rope_base` and `pos0` are runtime
  configuration values and SPEC fixes the table as float64 cos/sin rounded to Q1.14:
  `golden.rope.rope_table(max_seq_len, dh, rope_base, pos0)` is exactly what the host writes,
  row t holding the entries of token position pos0 + t.
"""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.intmath import rshr, sat8
from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["ROPE_FRAC_BITS", "rope_table_layout", "rope_beat_layout", "rope_rotate", "RopeRotator",
           "RopeTable"]

ROPE_FRAC_BITS = 14  # c, s are Q1.14 in int16


def _half(head_dim):
    require_int("head_dim", head_dim, 2)
    if head_dim % 2:
        raise ValueError(f"head_dim = {head_dim}: must be even (RoPE pairs i and i + head_dim/2)")
    return head_dim // 2


def rope_table_layout(head_dim):
    """One table row: `c`, `s` (int16 Q1.14), dh/2 entries each."""
    half = _half(head_dim)
    return data.StructLayout({"c": data.ArrayLayout(signed(16), half),
                              "s": data.ArrayLayout(signed(16), half)})


def rope_beat_layout(head_dim):
    """A rotator input: the int8 row `a` plus its table row `c`, `s`."""
    half = _half(head_dim)
    return data.StructLayout({"a": data.ArrayLayout(signed(8), head_dim),
                              "c": data.ArrayLayout(signed(16), half),
                              "s": data.ArrayLayout(signed(16), half)})


def rope_rotate(a, c, s):
    """The rotated row as a list of int8 expressions (`a` an int8 array view, `c`/`s` int16 views)."""
    half = len(c)
    lo = [sat8(rshr(a[i] * c[i] - a[i + half] * s[i], ROPE_FRAC_BITS)) for i in range(half)]
    hi = [sat8(rshr(a[i + half] * c[i] + a[i] * s[i], ROPE_FRAC_BITS)) for i in range(half)]
    return lo + hi


class RopeRotator(wiring.Component):
    """`i` stream of `rope_beat_layout(dh)` -> `o` stream of int8 rows, rotated when `rope_en` = 1."""

    def __init__(self, *, head_dim):
        _half(head_dim)
        self.head_dim = head_dim
        super().__init__({
            "i": In(stream.Signature(rope_beat_layout(head_dim))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(8), head_dim))),
            "rope_en": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        beat = self.i.payload
        rotated = rope_rotate(beat.a, beat.c, beat.s)
        take = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(take)
        with m.If(take):
            m.d.sync += self.o.valid.eq(self.i.valid)
            with m.If(self.i.valid):
                for j in range(self.head_dim):
                    with m.If(self.rope_en):
                        m.d.sync += self.o.payload[j].eq(rotated[j])
                    with m.Else():
                        m.d.sync += self.o.payload[j].eq(beat.a[j])
        return m


class RopeTable(wiring.Component):
    """The (c, s) table: `max_seq_len` rows of `rope_table_layout(dh)`, host-loaded, 1-cycle read."""

    def __init__(self, *, head_dim, max_seq_len):
        layout = rope_table_layout(head_dim)
        require_int("max_seq_len", max_seq_len)
        self.head_dim = head_dim
        self.max_seq_len = max_seq_len
        aw = max(1, (max_seq_len - 1).bit_length())
        super().__init__({
            "w_en": In(1), "w_addr": In(unsigned(aw)), "w_data": In(layout),
            "r_addr": In(unsigned(aw)), "r_data": Out(layout),
        })

    def elaborate(self, platform):
        m = Module()
        layout = rope_table_layout(self.head_dim)
        m.submodules.table = table = memory.Memory(shape=layout, depth=self.max_seq_len, init=[])
        wr = table.write_port()
        rd = table.read_port()
        m.d.comb += [wr.en.eq(self.w_en), wr.addr.eq(self.w_addr), wr.data.eq(self.w_data),
                     rd.addr.eq(self.r_addr), self.r_data.eq(rd.data)]
        return m


@block("rope", unit="speculation")
def _rope(cfg):
    """RoPE rotator of int8 rows (SPEC 3a), shared by prediction and execution."""
    return RopeRotator(head_dim=cfg.hw.head_dim)


@block("rope_table", unit="speculation")
def _rope_table(cfg):
    """Host-loaded RoPE (c, s) table for max_seq_len positions."""
    return RopeTable(head_dim=cfg.hw.head_dim, max_seq_len=cfg.hw.max_seq_len)
