"""The execution unit's projection pipeline, around its MAC array (SPEC 4.1-4.2).

`ProjectionFeed` (front end) owns the x buffer and the three weight-tile buffers, fills them from
their streams and, per started row, issues the row's `jt_n * ic_n` MAC operand beats (x chunk,
weight tile of the row's kind), `first` / `last` per chunk of `mac_rows` outputs.
`ProjectionOutput` (back end) turns the MAC results into the finished row:

One projected row (q, k or v of token `row`, SPEC 4.1-4.2) arrives from the MAC array as
`jt_n = head_dim / lanes` accumulator beats of `lanes` lanes, in order. Each beat is requantized
(`rtl/execution/requant.py`, scale `m` / `n` held by the caller for the whole row) into its
chunk of a row register; the full row then passes the RoPE rotator (`rtl/common/rope.py`),
rotated with the (c, s) table row of its token when `rope` = 1 and `kind` is q or k, unchanged
for v, and leaves on `o` as one `proj_layout` beat (kind, row, dh int8). The next row's beats
are taken once `o` has fired; `kind`, `row`, `m`, `n` and `rope` must stay stable in between.

The table is loaded by the host through `rope_w_*` with
`golden.rope.rope_table(max_seq_len, dh, rope_base, pos0)` (row t = position pos0 + t).
"""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.rope import RopeRotator, RopeTable, rope_table_layout
from amaranth.lib.memory import Memory

from rtl.execution.layouts import KIND_K, KIND_Q, KIND_V, exec_shape, proj_layout, step_nested
from rtl.execution.requant import REQUANT_M_WIDTH, REQUANT_N_WIDTH, Requant

__all__ = ["ProjectionFeed", "ProjectionOutput", "tile_loader"]


def tile_loader(m, name, port, mem, count):
    """A write port of `mem` filled from stream `port` at consecutive addresses from 0 (the
    caller owns `ready` and resets the returned address counter); `full` when `count` are in."""
    wr = mem.write_port()
    addr = Signal(range(mem.depth + 1), name=f"{name}_addr")
    m.d.comb += [wr.addr.eq(addr), wr.data.eq(port.payload), wr.en.eq(port.valid & port.ready)]
    with m.If(port.valid & port.ready):
        m.d.sync += addr.eq(addr + 1)
    return addr, addr == count


class ProjectionFeed(wiring.Component):
    """x and weight buffers, loaded from `x` / `wq` / `wk` / `wv`, and the projection's beats.

    `load` accepts x (`seq_len` rows) and wk / wv, `load_q` accepts wq; `clear` / `clear_q`
    restart their address counters; `loaded` / `q_loaded` say all are in, `any_in` that a load
    has begun. `start` (with `start_kind`, `start_row`) begins a row: while `adv` is high (the
    MAC input stage takes a beat) `beat` says one is issued, its operands on `x_data` / `w_data` a cycle
    later (synchronous buffer reads), with `first` / `last`. `kind` and `row` hold the row's.
    """

    def __init__(self, hw):
        self.hw = hw
        self.ic_n, self.jt_n = exec_shape(hw)[:2]
        i8, C, R, iw = signed(8), hw.mac_cols, hw.mac_rows, hw.seq_index_width
        tile = data.ArrayLayout(data.ArrayLayout(i8, C), R)
        super().__init__({
            "x": In(stream.Signature(data.ArrayLayout(i8, C))),
            "wq": In(stream.Signature(tile)), "wk": In(stream.Signature(tile)), "wv": In(stream.Signature(tile)),
            "seq_len": In(range(hw.max_seq_len + 1)),
            "load": In(1), "load_q": In(1), "clear": In(1), "clear_q": In(1),
            "loaded": Out(1), "q_loaded": Out(1), "any_in": Out(1),
            "start": In(1), "start_kind": In(2), "start_row": In(unsigned(iw)),
            "kind": Out(2), "row": Out(unsigned(iw)),
            "adv": In(1), "beat": Out(1), "first": Out(1), "last": Out(1),
            "x_data": Out(data.ArrayLayout(i8, C)), "w_data": Out(tile),
        })

    def elaborate(self, platform):
        m = Module()
        hw, IC, JT, L = self.hw, self.ic_n, self.jt_n, self.hw.max_seq_len
        tile = self.w_data.shape()
        m.submodules.x_buf = x_buf = Memory(shape=self.x_data.shape(), depth=L * IC, init=[])
        w_bufs = {}
        for name in ("wq", "wk", "wv"):
            w_bufs[name] = m.submodules[f"{name}_buf"] = Memory(shape=tile, depth=JT * IC, init=[])
        x_addr, x_full = tile_loader(m, "x", self.x, x_buf, self.seq_len * IC)
        wk_addr, wk_full = tile_loader(m, "wk", self.wk, w_bufs["wk"], JT * IC)
        wv_addr, wv_full = tile_loader(m, "wv", self.wv, w_bufs["wv"], JT * IC)
        wq_addr, wq_full = tile_loader(m, "wq", self.wq, w_bufs["wq"], JT * IC)
        m.d.comb += [self.x.ready.eq(self.load & ~x_full), self.wk.ready.eq(self.load & ~wk_full),
                     self.wv.ready.eq(self.load & ~wv_full), self.wq.ready.eq(self.load_q & ~wq_full),
                     self.loaded.eq(x_full & wk_full & wv_full), self.q_loaded.eq(wq_full),
                     self.any_in.eq((x_addr != 0) | (wk_addr != 0) | (wv_addr != 0))]
        with m.If(self.clear):
            m.d.sync += [x_addr.eq(0), wk_addr.eq(0), wv_addr.eq(0)]
        with m.If(self.clear_q):
            m.d.sync += wq_addr.eq(0)

        # row `row` of x times the kind's weights: JT chunks of R outputs, IC beats each
        p_jt = Signal(range(JT))
        p_ic = Signal(range(IC))
        p_issuing = Signal()
        x_rd = x_buf.read_port()
        w_rd = {name: mem.read_port() for name, mem in w_bufs.items()}
        x_base = Signal(range(L * IC))
        m.d.comb += [x_base.eq(self.row * IC), x_rd.addr.eq(x_base + p_ic), x_rd.en.eq(self.adv),
                     self.beat.eq(self.adv & p_issuing), self.first.eq(p_ic == 0),
                     self.last.eq(p_ic == IC - 1), self.x_data.eq(x_rd.data)]
        for rd in w_rd.values():
            m.d.comb += [rd.addr.eq(p_jt * IC + p_ic), rd.en.eq(self.adv)]
        with m.Switch(self.kind):
            for kind, name in ((KIND_Q, "wq"), (KIND_K, "wk"), (KIND_V, "wv")):
                with m.Case(kind):
                    m.d.comb += self.w_data.eq(w_rd[name].data)
        with m.If(self.beat):
            step_nested(m, p_ic, IC - 1, p_jt, JT - 1, p_issuing)
        with m.If(self.start):
            m.d.sync += [self.kind.eq(self.start_kind), self.row.eq(self.start_row), p_jt.eq(0),
                         p_ic.eq(0), p_issuing.eq(1)]
        return m


class ProjectionOutput(wiring.Component):
    """Accumulator beats of one row in, the requantized (and rotated) row out on `o`."""

    def __init__(self, hw):
        self.hw = hw
        self.lanes, self.jt_n = hw.mac_rows, hw.head_dim // hw.mac_rows
        iw = hw.seq_index_width
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(signed(hw.mac_array_acc_width), self.lanes))),
            "o": Out(stream.Signature(proj_layout(hw))),
            "kind": In(2), "row": In(unsigned(iw)), "rope": In(1),
            "m": In(unsigned(REQUANT_M_WIDTH)), "n": In(unsigned(REQUANT_N_WIDTH)),
            "rope_w_en": In(1), "rope_w_addr": In(unsigned(iw)),
            "rope_w_data": In(rope_table_layout(hw.head_dim)),
        })

    def elaborate(self, platform):
        m = Module()
        hw, R, JT, dh = self.hw, self.lanes, self.jt_n, self.hw.head_dim
        i8 = signed(8)
        m.submodules.requant = rq = Requant(lanes=R, acc_width=hw.mac_array_acc_width)
        wiring.connect(m, wiring.flipped(self.i), rq.i)
        m.d.comb += [rq.m.eq(self.m), rq.n.eq(self.n)]

        # chunks in the row register; JT: full (offered to the rotator), JT + 1: in the rotator
        n_out = Signal(range(JT + 2))
        row_reg = Signal(data.ArrayLayout(i8, dh))
        row_chunks = data.View(data.ArrayLayout(data.ArrayLayout(i8, R), JT), row_reg.as_value())
        m.d.comb += rq.o.ready.eq(n_out < JT)
        with m.If(rq.o.valid & rq.o.ready):
            m.d.sync += n_out.eq(n_out + 1)
            with m.Switch(n_out):
                for j in range(JT):
                    with m.Case(j):
                        m.d.sync += row_chunks[j].eq(rq.o.payload)

        m.submodules.rope_table = table = RopeTable(head_dim=dh, max_seq_len=hw.max_seq_len)
        m.submodules.rope = rot = RopeRotator(head_dim=dh)
        m.d.comb += [table.w_en.eq(self.rope_w_en), table.w_addr.eq(self.rope_w_addr),
                     table.w_data.eq(self.rope_w_data), table.r_addr.eq(self.row),
                     rot.rope_en.eq(self.rope & (self.kind != KIND_V)),
                     rot.i.valid.eq(n_out == JT), rot.i.payload.a.eq(row_reg),
                     rot.i.payload.c.eq(table.r_data.c), rot.i.payload.s.eq(table.r_data.s)]
        with m.If(rot.i.valid & rot.i.ready):
            m.d.sync += n_out.eq(JT + 1)
        m.d.comb += [self.o.valid.eq(rot.o.valid), rot.o.ready.eq(self.o.ready),
                     self.o.payload.kind.eq(self.kind), self.o.payload.row.eq(self.row),
                     self.o.payload.data.eq(rot.o.payload)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += n_out.eq(0)
        return m
