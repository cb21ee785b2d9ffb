"""Top-k predictor engine (SPEC section 8, after SpAtten's top-k engine, HPCA 2021).

One job (`start`, then `busy` until the last row's kept list is out) takes the exact scores
`S[t, s] = q[t] . k[s]` of SPEC 4.3 over C_1 (`scores` stream, layout `score_layout`: rows t
in order, keys s = 0, 1, .. ascending, `last` on the row's final key; C_1 is contiguous, so
the key index is the position in the row) and keeps, per row, the `topk_k` largest, ties to the
smaller key; all of C_1[t] when it holds at most `topk_k` keys.

Per row of n keys, exact and data-independent (no sort, no quick-select worst case):
1. collect: the scores go into the row buffer (`lib.memory.Memory`, max_len entries), n cycles.
   With n <= topk_k every key is kept: straight to 3.
2. select, a radix search for T = the k-th largest score: scores as unsigned order keys
   (`u = S ^ 2^(W-1)`), `2^radix_bits - 1` comparators and counters; pass p reads the row once
   and counts, for every digit v, the keys with `u >= P + v * 2^shift` (P the digits found so
   far); the largest v whose count reaches k is the next digit. ceil(W / radix_bits) passes of
   n + 1 cycles. The count just above the chosen digit is `count(u >= upper bound)`; after the
   last pass it is `count(S > T)`, so the ties to keep (k minus that) need no extra pass.
3. emit: the row is read once more in key order: `S > T` is kept, `S = T` while fewer than
   `k - count(S > T)` ties have been kept (the smallest indices); `rtl.common.kept_list.KeptList`
   turns the decisions into the `kept` stream.

Output `kept` (layout `rtl.execution.kv_control.kv_request_layout`): for every row t in order, M[t]'s
keys ascending, `last` on the row's final key. Cost per row: n (collect) + ceil(W / radix_bits)
* (n + 1) (select) + n (emit) + a few cycles (n <= topk_k: 2n + a few); one row at a time.
Measured (`python -m sim.predictor_cycles`, W = 22, radix_bits 4, L = 256, no stalls): 2061
cycles per encoder row (8n + 13), 1027 per causal row on average. `topk_k`, `seq_len` must stay
stable while `busy`.

Measured (`build.py synth --block topk`, OSU 0.18 um, max_len 1024, W = 22, radix_bits 4,
10 ns): 0.44 mm^2, of which 0.30 mm^2 the row buffer (SRAM, CACTI), logic 0.13 mm^2; no
`$mul`; Fmax 207 MHz.
"""

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.fields import width_of

from rtl.common.kept_list import KeptList, row_job
from rtl.execution.kv_control import kv_request_layout
from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["TOPK_K_WIDTH", "score_layout", "TopK"]

TOPK_K_WIDTH = width_of("topk_k")


def score_layout(idx_width, score_width):
    """One exact score S[t, s] (SPEC 4.3), `last` on the row's final key (the predictor slot's `scores`)."""
    return data.StructLayout({"row": unsigned(idx_width), "key": unsigned(idx_width),
                              "score": signed(score_width), "last": 1})


class TopK(wiring.Component):
    """`scores` stream -> `kept` key lists: exact top-k per row, ties to the smaller key."""

    def __init__(self, *, max_len, score_width, radix_bits=4):
        require_int("max_len", max_len)
        require_int("score_width", score_width, 2)
        require_int("radix_bits", radix_bits)
        self.max_len, self.score_width, self.radix_bits = max_len, score_width, radix_bits
        self.idx_width = max(1, (max_len - 1).bit_length())
        self.passes = -(-score_width // radix_bits)
        super().__init__({
            "start": In(1), "busy": Out(1),
            "seq_len": In(unsigned(max_len.bit_length())), "topk_k": In(unsigned(TOPK_K_WIDTH)),
            "scores": In(stream.Signature(score_layout(self.idx_width, score_width))),
            "kept": Out(stream.Signature(kv_request_layout(self.idx_width))),
        })

    def elaborate(self, platform):
        m = Module()
        W, r, iw = self.score_width, self.radix_bits, self.idx_width
        wp = self.passes * r                       # order keys zero-extended to whole digits
        digits = (1 << r) - 1
        m.submodules.buf = buf = memory.Memory(shape=signed(W), depth=self.max_len, init=[])
        wr, rd = buf.write_port(), buf.read_port()
        m.submodules.compact = compact = KeptList(idx_width=iw)

        def order_key(score):
            return (score.as_unsigned() ^ (1 << (W - 1)))

        cw = self.max_len.bit_length()
        busy, _ = row_job(m, self.start, self.seq_len, self.kept)
        n = Signal(cw)                             # keys in the row
        idx = Signal(cw)                           # read pointer
        pend = Signal()                            # a search read issued last cycle
        prefix = Signal(wp)                        # P: the digits of T found so far
        shift = Signal(range(wp))
        cnt = Array(Signal(cw, name=f"cnt{v}") for v in range(digits + 2))   # cnt[0] unused
        upper = Signal(cw)                         # count(u >= P + 2^(shift + r))
        thresh = Signal(wp)                        # T as an order key
        need = Signal(cw)                          # ties still to keep
        keep_all = Signal()
        m.d.comb += self.busy.eq(busy)

        beat = self.scores.payload
        u = Signal(wp)
        m.d.comb += u.eq(order_key(rd.data))
        with m.FSM():
            with m.State("collect"):
                m.d.comb += [self.scores.ready.eq(busy), wr.addr.eq(n), wr.data.eq(beat.score),
                             wr.en.eq(self.scores.valid & busy)]
                with m.If(wr.en):
                    m.d.sync += n.eq(n + 1)
                    with m.If(beat.last):
                        all_fit = n + 1 <= self.topk_k
                        m.d.sync += [keep_all.eq(all_fit), idx.eq(0), pend.eq(0), prefix.eq(0),
                                     shift.eq(wp - r), upper.eq(0), *[c.eq(0) for c in cnt]]
                        with m.If(all_fit):
                            m.d.sync += compact.i.valid.eq(0)
                            m.next = "emit"
                        with m.Else():
                            m.next = "search"
            with m.State("search"):
                m.d.comb += rd.addr.eq(idx)
                m.d.sync += pend.eq(idx < n)
                with m.If(idx < n):
                    m.d.sync += idx.eq(idx + 1)
                with m.If(pend):
                    for v in range(1, digits + 1):
                        with m.If(u >= (prefix | (v << shift))):
                            m.d.sync += cnt[v].eq(cnt[v] + 1)
                with m.Elif(idx == n):             # the pass is complete: choose the digit
                    digit = Signal(r)
                    for v in range(1, digits + 1):
                        with m.If(cnt[v] >= self.topk_k):
                            m.d.comb += digit.eq(v)
                    new_prefix = prefix | (digit << shift)
                    new_upper = Mux(digit == digits, upper, cnt[(digit + 1)[:r + 1]])
                    m.d.sync += [prefix.eq(new_prefix), upper.eq(new_upper), idx.eq(0),
                                 *[c.eq(0) for c in cnt]]
                    with m.If(shift == 0):
                        m.d.sync += [thresh.eq(new_prefix), need.eq(self.topk_k - new_upper),
                                     compact.i.valid.eq(0)]
                        m.next = "emit"
                    with m.Else():
                        m.d.sync += shift.eq(shift - r)
            with m.State("emit"):
                # registered read: the buffer advances only when the compactor takes the entry
                adv = ~compact.i.valid | compact.i.ready
                m.d.comb += [rd.addr.eq(idx), rd.en.eq(adv)]
                tie = u == thresh
                keep = keep_all | (u > thresh) | (tie & (need != 0))
                m.d.comb += compact.i.payload.keep.eq(keep)
                with m.If(adv):
                    m.d.sync += [compact.i.valid.eq(idx < n), compact.i.payload.key.eq(idx),
                                 compact.i.payload.last.eq(idx == n - 1)]
                    with m.If(idx < n):
                        m.d.sync += idx.eq(idx + 1)
                with m.If(compact.i.valid & compact.i.ready):
                    with m.If(~keep_all & tie & (need != 0)):
                        m.d.sync += need.eq(need - 1)
                    with m.If(compact.i.payload.last):
                        m.d.sync += [n.eq(0), compact.i.valid.eq(0)]
                        m.next = "collect"
        wiring.connect(m, compact.o, wiring.flipped(self.kept))
        return m


@block("topk", unit="speculation")
def _topk(cfg):
    """Top-k engine over the exact scores of C_1 (SPEC 8)."""
    return TopK(max_len=cfg.hw.max_seq_len, score_width=cfg.hw.score_width)
