"""MAC PE array (PE Array 1) of SPEC section 4.1-4.3: int8 x int8 -> int32 multiply-accumulate.

`rows` x `cols` PEs. Row r multiplies its `cols` operand pairs, adds them (an adder tree) and
accumulates over the beats of one job: `acc[r] = sum over beats of sum_c a[r][c] * b[r][c]`.
A beat with `first` restarts the accumulation; a beat with `last` sends the `rows` sums out.
The execution unit feeds it two ways (SPEC 4.1-4.3):
- projection: the same x chunk on every row, row r a weight column, so `rows` outputs of q/k/v;
- Q.K^T: q and k of one kept pair split across all `rows * cols` PEs, the rows summed after.
The same array, with unsigned 16-bit `a`, is PE Array 2 (A.V, `rtl/execution/av_array.py`).
One beat per cycle; the result register is a stream stage (the input stalls only while a
finished result waits for `o.ready`).
"""

from amaranth.hdl import Module, Mux, Shape, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["mac_beat_layout", "MACArray", "mac_routes"]


def mac_routes(m, mac, mode_score, chunk, q_row, k_row, feed, requant_i, softmax_i, score_last, score_width):
    """The execution unit's MAC array operands and results (`rtl/execution/unit.py`): with
    `mode_score`, q / k chunk `chunk` of `q_row` / `k_row` on all rows x cols PEs and the rows'
    sum as the score into `softmax_i` (`last` with `score_last`), else the projection feed's x
    chunk on every row (row r = weight column) with its weight tile, results to `requant_i`.
    Returns the score."""
    R = len(mac.i.payload.a)
    tile = mac.i.payload.a.shape()
    qc = len(q_row.as_value()) // tile.size
    q_view = data.View(data.ArrayLayout(tile, qc), q_row.as_value())
    k_view = data.View(data.ArrayLayout(tile, qc), k_row.as_value())
    with m.If(mode_score):
        with m.Switch(chunk):
            for c in range(qc):
                with m.Case(c):
                    m.d.comb += [mac.i.payload.a.eq(q_view[c]), mac.i.payload.b.eq(k_view[c])]
    with m.Else():
        m.d.comb += [mac.i.payload.a[r].eq(feed.x_data) for r in range(R)]
        m.d.comb += mac.i.payload.b.eq(feed.w_data)
    score = Signal(signed(score_width))
    m.d.comb += score.eq(sum(mac.o.payload[r] for r in range(R)))
    with m.If(mode_score):
        m.d.comb += [softmax_i.valid.eq(mac.o.valid), mac.o.ready.eq(softmax_i.ready),
                     softmax_i.payload.score.eq(score), softmax_i.payload.last.eq(score_last)]
    with m.Else():
        m.d.comb += [requant_i.valid.eq(mac.o.valid), mac.o.ready.eq(requant_i.ready),
                     requant_i.payload.eq(mac.o.payload)]
    return score


def mac_beat_layout(rows, cols, a_shape=signed(8), b_shape=signed(8)):
    """One input beat: operands per PE and the job framing."""
    return data.StructLayout({
        "a": data.ArrayLayout(data.ArrayLayout(a_shape, cols), rows),
        "b": data.ArrayLayout(data.ArrayLayout(b_shape, cols), rows),
        "first": 1,
        "last": 1,
    })


def _tree_sum(values):
    while len(values) > 1:
        values = [values[k] + values[k + 1] if k + 1 < len(values) else values[k]
                  for k in range(0, len(values), 2)]
    return values[0]


class MACArray(wiring.Component):
    """`rows` x `cols` multiply-accumulate PEs with `acc_width`-bit signed row accumulators."""

    def __init__(self, *, rows, cols, acc_width, a_shape=signed(8), b_shape=signed(8)):
        require_int("rows", rows)
        require_int("cols", cols)
        a_shape, b_shape = Shape.cast(a_shape), Shape.cast(b_shape)
        require_int("acc_width", acc_width, a_shape.width + b_shape.width, "one product")
        self.rows, self.cols, self.acc_width = rows, cols, acc_width
        super().__init__({
            "i": In(stream.Signature(mac_beat_layout(rows, cols, a_shape, b_shape))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(acc_width), rows))),
        })

    def elaborate(self, platform):
        m = Module()
        beat = self.i.payload
        take = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(take)
        with m.If(take & self.o.valid):
            m.d.sync += self.o.valid.eq(0)
        for r in range(self.rows):
            acc = Signal(signed(self.acc_width), name=f"acc{r}")
            prods = [beat.a[r][c] * beat.b[r][c] for c in range(self.cols)]
            total = Signal(signed(self.acc_width), name=f"sum{r}")
            m.d.comb += total.eq(_tree_sum(prods))
            nxt = Signal(signed(self.acc_width), name=f"next{r}")
            m.d.comb += nxt.eq(total + Mux(beat.first, 0, acc))
            with m.If(self.i.valid & take):
                m.d.sync += acc.eq(nxt)
                with m.If(beat.last):
                    m.d.sync += self.o.payload[r].eq(nxt)
        with m.If(self.i.valid & take & beat.last):
            m.d.sync += self.o.valid.eq(1)
        return m


@block("mac_array", unit="execution")
def _mac_array(cfg):
    """MAC PE array (PE Array 1) of the configured shape."""
    return MACArray(rows=cfg.hw.mac_rows, cols=cfg.hw.mac_cols,
                    acc_width=cfg.hw.mac_array_acc_width)
