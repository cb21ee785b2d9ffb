"""Sanger predictor (SPEC section 8, after Sanger, MICRO 2021): 4-bit scores, softmax, threshold.

One job (`start`, then `busy` until the last row's kept list is out) predicts the mask of one
query head over C_1 (s <= t when `causal`, else s < `seq_len`):

1. `k` stream: the exact int8 k rows of SPEC 4.2 (after RoPE), tokens 0..seq_len-1 in order,
   one row per beat (`row_layout`). Each is cut to `k4 = k >> 4` (signed, -8..7: the top four
   bits, no logic) into the k4 buffer (`lib.memory.Memory`, max_len x 4*dh bits). Only a
   `first_head` job takes k rows; the other query heads of the KV head reuse the buffer
   (grouped-query attention). Rows may arrive while the rows below are scored (causal: row t
   waits only for k[0..t]).
2. `q` stream: the exact q rows t = 0..seq_len-1 in order; `q4 = q >> 4` is held in a register.
3. Score array: `lanes` signed 4 x 4-bit multipliers and an adder tree; a candidate key takes
   dh / lanes beats (`Sp[t, s] = sum_j q4[t, j] * k4[s, j]`), keys s ascending. With the
   default lanes = peb_lanes it scores C_1 at the rate of LAPA's PEB round 1 (SPEC 7: H*P*dh
   4-bit MACs against PEB shift-adds).
4. `rtl.execution.softmax.Softmax` (the integer softmax of SPEC 4.4, the execution unit's block) with
   `sg_mult` / `sg_shift` as its scale and `mark_max` on, so each probability comes with `top`
   (Sp is the row maximum).
5. Keep `Pp >= sg_thresh or top` (SPEC 8) and compact with `rtl.common.kept_list.KeptList`.

Output `kept` (layout `rtl.execution.kv_control.kv_request_layout`, the slot's / speculation unit's `kept`):
for every row t in order, M[t]'s keys ascending, `last` on the row's final key.

Cost per row of n = |C_1[t]| keys (no back-pressure): n * dh / lanes scoring cycles, overlapped
with the softmax's collection; then the softmax's exponent pass, division and output
(about 2n + 20 cycles) before the next row's scores are taken. Measured
(`python -m sim.predictor_cycles`, dh 64, 16 lanes, L = 256, no stalls): 1550 cycles per
encoder row (6n + 14; LAPA's PEB round 1 alone is 4n), 785 per causal row on average. Runtime
inputs must stay stable while `busy`.

Measured (`build.py synth --block sanger`, OSU 0.18 um, dh 64, max_len 1024, 10 ns): 16 lanes
4.36 mm^2, of which 3.97 mm^2 SRAM (CACTI: the k4 buffer 3.45, the softmax's score and
exponent buffers 0.52), logic 0.40 mm^2 (softmax 0.20, score array and control 0.19); 19 `$mul`
(16 lanes, 3 in the softmax); Fmax 68 MHz, set by the shared softmax. 32 lanes: +0.090 mm^2,
i.e. 5.6 k um^2 per 4-bit multiplier lane (PEB in the same runs: 8.4 k um^2 per shift lane).
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import signed_width
from lapa.fields import width_of

from rtl.common.kept_list import KeptList, row_job
from rtl.execution.kv_control import kv_request_layout
from rtl.common.params import require_int
from rtl.registry import block
from rtl.common.shift_acc import adder_tree
from rtl.execution.softmax import SM_FRAC_WIDTH, SM_MULT_WIDTH, SM_SHIFT_WIDTH, Softmax

__all__ = ["SG_THRESH_WIDTH", "row_layout", "sanger_score_width", "Sanger"]

SG_THRESH_WIDTH = width_of("sg_thresh")


def row_layout(idx_width, head_dim):
    """One exact q or k row (SPEC 4.1-4.2): its token and dh int8 (the predictor slot's `q` / `k`)."""
    return data.StructLayout({"row": unsigned(idx_width), "data": data.ArrayLayout(signed(8), head_dim)})


def sanger_score_width(head_dim):
    """Sp: dh products of two signed 4-bit values (|q4 * k4| <= 64)."""
    return signed_width(head_dim * 64)


class Sanger(wiring.Component):
    """`k`, `q` row streams -> `kept` key lists, one query head per job."""

    def __init__(self, *, lanes, head_dim, max_len):
        require_int("lanes", lanes)
        require_int("head_dim", head_dim)
        if head_dim % lanes:
            raise ValueError(f"head_dim = {head_dim}: must be a multiple of lanes = {lanes}")
        require_int("max_len", max_len)
        self.lanes, self.head_dim, self.max_len = lanes, head_dim, max_len
        self.chunks = head_dim // lanes
        self.idx_width = max(1, (max_len - 1).bit_length())
        self.score_width = sanger_score_width(head_dim)
        rows = stream.Signature(row_layout(self.idx_width, head_dim))
        super().__init__({
            "start": In(1), "busy": Out(1),
            "seq_len": In(unsigned(max_len.bit_length())), "causal": In(1), "first_head": In(1),
            "sg_mult": In(unsigned(SM_MULT_WIDTH)), "sg_shift": In(unsigned(SM_SHIFT_WIDTH)),
            "sm_frac_bits": In(unsigned(SM_FRAC_WIDTH)), "sg_thresh": In(unsigned(SG_THRESH_WIDTH)),
            "k": In(rows), "q": In(rows),
            "kept": Out(stream.Signature(kv_request_layout(self.idx_width))),
        })

    def elaborate(self, platform):
        m = Module()
        L, CH, iw = self.max_len, self.chunks, self.idx_width
        nib = data.ArrayLayout(data.ArrayLayout(signed(4), self.lanes), CH)   # 4-bit row, by chunk
        m.submodules.k4 = k4 = memory.Memory(shape=nib, depth=L, init=[])
        wr = k4.write_port()
        rd = k4.read_port(transparent_for=(wr,))   # a row written this cycle can be scored next
        m.submodules.softmax = sm = Softmax(score_width=self.score_width, max_len=L, mark_max=True)
        m.submodules.compact = compact = KeptList(idx_width=iw)
        m.d.comb += [sm.sm_mult.eq(self.sg_mult), sm.sm_shift.eq(self.sg_shift),
                     sm.sm_frac_bits.eq(self.sm_frac_bits)]

        def top4(row):
            return [v >> 4 for v in row]

        busy, begin = row_job(m, self.start, self.seq_len, self.kept)
        n_len = len(self.seq_len)
        k_have = Signal(n_len)       # k4 rows stored (k[0 .. k_have-1])
        q_rows = Signal(n_len)       # q rows taken this job
        m.d.comb += self.busy.eq(busy)
        with m.If(begin):
            m.d.sync += q_rows.eq(0)
            with m.If(self.first_head):
                m.d.sync += k_have.eq(0)

        # k rows -> k4 buffer
        m.d.comb += [self.k.ready.eq(busy & (k_have < self.seq_len)), wr.addr.eq(k_have),
                     wr.en.eq(self.k.valid & self.k.ready)]
        for j, v in enumerate(top4(self.k.payload.data)):
            m.d.comb += wr.data[j // self.lanes][j % self.lanes].eq(v)
        with m.If(wr.en):
            m.d.sync += k_have.eq(k_have + 1)

        # q row -> q4 register; the score array walks C_1 of that row
        q4 = Signal(nib)
        active = Signal()            # a row's candidates are being scored
        s = Signal(iw)               # candidate key
        c = Signal(range(CH))        # chunk of dh
        n_last = Signal(iw)          # the row's final candidate (t when causal, else seq_len - 1)
        acc = Signal(signed(self.score_width))
        m.d.comb += self.q.ready.eq(busy & ~active & (q_rows < self.seq_len))
        with m.If(self.q.valid & self.q.ready):
            m.d.sync += [active.eq(1), s.eq(0), c.eq(0), q_rows.eq(q_rows + 1),
                         n_last.eq(Mux(self.causal, q_rows, self.seq_len - 1))]
            for j, v in enumerate(top4(self.q.payload.data)):
                m.d.sync += q4[j // self.lanes][j % self.lanes].eq(v)

        out_free = ~sm.i.valid | sm.i.ready
        chunk_end = c == CH - 1
        step = active & (k_have > s) & (~chunk_end | out_free)
        key_end = step & chunk_end
        row_end = key_end & (s == n_last)
        # the read feeds the next cycle's step: key s, or key 0 while no row is being scored
        m.d.comb += rd.addr.eq(Mux(~active | row_end, 0, Mux(key_end, s + 1, s)))
        qc, kc = q4[c], rd.data[c]
        part = Signal(signed(self.score_width))
        m.d.comb += part.eq(adder_tree(qc[j] * kc[j] for j in range(self.lanes)))
        total = Mux(c == 0, 0, acc) + part
        with m.If(sm.i.ready):
            m.d.sync += sm.i.valid.eq(0)
        with m.If(step):
            m.d.sync += [acc.eq(total), c.eq(Mux(chunk_end, 0, c + 1))]
            with m.If(key_end):
                m.d.sync += [sm.i.valid.eq(1), sm.i.payload.score.eq(total), sm.i.payload.last.eq(row_end),
                             s.eq(s + 1)]
                with m.If(row_end):
                    m.d.sync += active.eq(0)

        # probabilities -> keep decisions -> kept list
        pos = Signal(iw)
        p = sm.o.payload
        m.d.comb += [compact.i.valid.eq(sm.o.valid), sm.o.ready.eq(compact.i.ready),
                     compact.i.payload.key.eq(pos), compact.i.payload.last.eq(p.last),
                     compact.i.payload.keep.eq((p.prob >= self.sg_thresh) | p.top)]
        with m.If(sm.o.valid & sm.o.ready):
            m.d.sync += pos.eq(Mux(p.last, 0, pos + 1))
        wiring.connect(m, compact.o, wiring.flipped(self.kept))
        return m


@block("sanger", unit="speculation")
def _sanger(cfg):
    """Sanger predictor: 4-bit score array, integer softmax, threshold (SPEC 8)."""
    hw = cfg.hw
    return Sanger(lanes=hw.peb_lanes, head_dim=hw.head_dim, max_len=hw.max_seq_len)
