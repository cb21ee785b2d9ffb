"""PEB / MRSA: shift-accumulate scores of SPEC sections 3.3-3.4, one candidate key at a time.

`lanes` lanes split the head dimension: a candidate key s of query row t takes dh/lanes input
beats, beat n carrying `k_hat[s, n*lanes .. n*lanes+lanes-1]` (`k`) and the matching runtime LO
codes of `q_hat[t]` (`q`, `rtl.speculation.loe.LOCode` from the floor LOE: signed powers of two). Each lane
forms `qlo (*) slice_r` with a shift (`rtl.common.shift_acc.lo_product`, no multiplier), an adder
tree sums the lanes, and the key's accumulator closes on the beat flagged `key_last`.

Round r uses the incremental form of SPEC 3.4, reusing the previous round's partial sum:
`A_r = (A_{r-1} << b_r) + sum_j qlo[j] * slice_r[j]`, where `slice_r = k_hat >> (8 - c_r)` kept
signed in round 1 (`first` = 1, `prev` ignored) and its low b_r bits unsigned afterwards. The
previous score `prev` rides along with the candidate (the DDF hands the survivors on with their
scores), so no score buffer is needed here. `cum_bits` (c_r) and `bits` (b_r) are runtime inputs.

Output: one `rtl.speculation.ddf.candidate_layout` beat per key, `{idx, score = A_r, last = row_last}`,
ready for the DDF. One input beat per cycle; the output register stalls the input only while
it is held by back-pressure. A round over |C_r| candidates costs |C_r| * dh / lanes beats.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import signed_width
from lapa.fields import ROUND_BITS_SUM, width_of

from rtl.speculation.ddf import candidate_layout
from rtl.speculation.loe import LOCode
from rtl.common.params import require_int
from rtl.registry import block
from rtl.common.shift_acc import adder_tree, lo_product

__all__ = ["PEB_BITS_WIDTH", "peb_beat_layout", "PEB"]

PEB_BITS_WIDTH = max(width_of("round_bits"), ROUND_BITS_SUM.bit_length())  # b_r, c_r: 1..8


def peb_beat_layout(lanes, idx_width, score_width):
    """One PEB input beat: a k_hat chunk, the qlo chunk, the candidate's previous score and flags."""
    return data.StructLayout({"k": data.ArrayLayout(signed(8), lanes), "q": data.ArrayLayout(LOCode, lanes),
                              "prev": signed(score_width), "idx": unsigned(idx_width),
                              "key_last": 1, "row_last": 1})


class PEB(wiring.Component):
    """`i` stream of `peb_beat_layout` -> `o` stream of `candidate_layout` (one beat per key)."""

    def __init__(self, *, lanes, head_dim, idx_width, score_width):
        require_int("lanes", lanes)
        require_int("head_dim", head_dim)
        if head_dim % lanes:
            raise ValueError(f"head_dim = {head_dim}: must be a multiple of lanes = {lanes}")
        need = signed_width(head_dim * 128 * 128)
        require_int("score_width", score_width, need, f"dh = {head_dim} products need {need} bits")
        require_int("idx_width", idx_width)
        self.lanes = lanes
        self.head_dim = head_dim
        self.idx_width = idx_width
        self.score_width = score_width
        super().__init__({
            "i": In(stream.Signature(peb_beat_layout(lanes, idx_width, score_width))),
            "o": Out(stream.Signature(candidate_layout(idx_width, score_width))),
            "first": In(1),
            "cum_bits": In(unsigned(PEB_BITS_WIDTH)),
            "bits": In(unsigned(PEB_BITS_WIDTH)),
        })

    def elaborate(self, platform):
        m = Module()
        beat = self.i.payload
        # A_{r-1} << b_r may exceed the final |A_r| bound by up to 3x before the slice part
        # pulls it back: two guard bits keep every partial sum exact.
        acc = Signal(signed(self.score_width + 2))
        fresh = Signal(init=1)  # the next beat starts a new key
        mask = ((Const(1, 9) << self.bits) - 1)[:8]
        drop = Signal(unsigned(PEB_BITS_WIDTH))  # 8 - c_r low bits of k_hat not used yet
        m.d.comb += drop.eq(8 - self.cum_bits)
        products = []
        for k in range(self.lanes):
            k_r = beat.k[k] >> drop
            slice_r = Signal(signed(9), name=f"slice{k}")
            m.d.comb += slice_r.eq(Mux(self.first, k_r, k_r.as_unsigned() & mask))
            products.append(lo_product(slice_r, beat.q[k], mant_bits=0))
        part = Signal(signed(self.score_width + 2))
        m.d.comb += part.eq(adder_tree(products))
        base = Mux(self.first, 0, beat.prev << self.bits)
        total = Signal(signed(self.score_width + 2))
        m.d.comb += total.eq(Mux(fresh, base, acc) + part)

        take = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(take)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & take):
            m.d.sync += [acc.eq(total), fresh.eq(beat.key_last)]
            with m.If(beat.key_last):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.idx.eq(beat.idx),
                             self.o.payload.score.eq(total[:self.score_width].as_signed()),
                             self.o.payload.last.eq(beat.row_last)]
        return m


@block("peb", unit="speculation")
def _peb(cfg):
    """PEB / MRSA shift-accumulate score lanes over the candidates of a round."""
    hw = cfg.hw
    return PEB(lanes=hw.peb_lanes, head_dim=hw.head_dim, idx_width=hw.seq_index_width,
               score_width=hw.peb_acc_width)
