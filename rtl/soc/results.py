"""Result writer: every row the accelerator writes to memory, through one AXI4 write port.

Producers and where their rows land (`lapa.memlayout`; addresses from `base`, loaded at `start`):
- `kept` (the speculation unit's kept-key lists) -> mask bit rows at `mask`, one after the other;
- `needed` (key_needed lists) pass on to `needed_out` (the execution unit) and, with `trace`,
  a copy is packed to `key_needed` rows;
- `hat` (trace): q_hat rows from `q_hat`, k_hat rows from `k_hat`, in the order they come;
- `proj` (trace): q rows from `q` in order; k / v rows at `k` / `v` + row * dh of the current KV
  head (`next_group` moves both past the head's seq_len rows); untraced rows are dropped;
- `probs` (trace): each row's kept probabilities, compacted, one row stride apart from `probs`;
- `o`: the output rows from `out`, one after the other.
Each producer has a `RowSpanSource` (whole rows, so a granted span never waits on a producer) in
front of a round-robin `WriteBack`. `mask_rows` counts mask rows the memory has acknowledged (the
execution side reads a group's rows back only after that); `o_rows` pulses per `o` row written;
`exec_quiet` means no o / q / k / v row is still on its way, `quiet` that nothing is.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4
from rtl.execution.unit import o_layout, proj_layout
from rtl.execution.kv_control import kv_request_layout
from rtl.common.mask_codec import MaskPacker
from rtl.common.resize import StreamResize
from rtl.execution.softmax import prob_beat
from rtl.registry import block
from rtl.soc.span import RowSpanSource
from rtl.speculation.unit import hat_layout
from rtl.soc.writeback import WriteBack

__all__ = ["RESULT_BUFFERS", "ResultWriter"]

RESULT_BUFFERS = ("mask", "key_needed", "q_hat", "k_hat", "q", "k", "v", "probs", "out")
W_MASK, W_KEY_NEEDED, W_HAT, W_PROJ, W_PROBS, W_O = range(6)


class ResultWriter(wiring.Component):
    """The write side of the top level (see module docstring)."""

    def __init__(self, hw, *, addr_width=32, data_width=64):
        self.hw, self.addr_width, self.data_width = hw, addr_width, data_width
        req = stream.Signature(kv_request_layout(hw.seq_index_width))
        super().__init__({
            "axi": Out(AXI4(addr_width=addr_width, data_width=data_width)),
            "kept": In(req), "needed": In(req), "needed_out": Out(req),
            "hat": In(stream.Signature(hat_layout(hw))),
            "proj": In(stream.Signature(proj_layout(hw))),
            "probs": In(stream.Signature(prob_beat())),
            "o": In(stream.Signature(o_layout(hw))),
            "seq_len": In(unsigned(hw.max_seq_len.bit_length())),
            "trace": In(1),
            "base": In(data.StructLayout({name: addr_width for name in RESULT_BUFFERS})),
            "start": In(1), "next_group": In(1),
            "mask_rows": Out(range(2 * hw.n_heads * hw.max_seq_len + 1)),
            "o_rows": Out(1), "exec_quiet": Out(1), "quiet": Out(1), "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        hw, W, A = self.hw, self.data_width, self.addr_width
        L, H, dh = hw.max_seq_len, hw.n_heads, hw.head_dim
        word_bytes = W // 8
        seq_len, trace, base = self.seq_len, self.trace, self.base
        m.submodules.writeback = wb = WriteBack(n_src=6, addr_width=A, data_width=W)
        wiring.connect(m, wiring.flipped(self.axi), wb.axi)
        m.d.comb += [self.error.eq(wb.error), self.o_rows.eq(wb.done[W_O])]
        with m.If(self.start):
            m.d.sync += self.mask_rows.eq(0)
        with m.Elif(wb.done[W_MASK]):
            m.d.sync += self.mask_rows.eq(self.mask_rows + 1)
        inflight = []    # rows handed to each source and not yet acknowledged by the memory

        def source(k, max_words, rows_in):
            src = RowSpanSource(max_row_words=max_words, addr_width=A, data_width=W)
            m.submodules[f"wsrc{k}"] = src
            wiring.connect(m, src.req, wb.req[k])
            wiring.connect(m, src.data, wb.data[k])
            pending = Signal(range(2 * L * H + 2), name=f"wsrc{k}_pending")
            m.d.sync += pending.eq(pending + rows_in - wb.done[k])
            inflight.append(pending)
            return src


        def tagged(src, name):
            """A source whose row addresses are pushed as its rows arrive (a small FIFO)."""
            q = fifo.SyncFIFOBuffered(width=A, depth=4)
            m.submodules[f"{name}_addr"] = q
            m.d.comb += [src.addr.valid.eq(q.r_rdy), src.addr.payload.eq(q.r_data), q.r_en.eq(src.addr.ready)]
            return q

        def pointer(name, start):
            """An address register loaded with `start` when a job starts (then moved by its user
            only outside that cycle)."""
            ptr = Signal(A, name=f"{name}_ptr")
            with m.If(self.start):
                m.d.sync += ptr.eq(start)
            return ptr

        def running(src, start, step, name):
            """A source whose rows land one after the other from `start`."""
            ptr = pointer(name, start)
            m.d.comb += [src.addr.valid.eq(1), src.addr.payload.eq(ptr)]
            with m.If(src.addr.ready & ~self.start):
                m.d.sync += ptr.eq(ptr + step)

        def row_beats(name, beats, addr_q, enable, fire):
            """Each dh-byte beat of `beats` (taken only when `enable`) as one row of bus words,
            its address pushed to `addr_q` as it is taken."""
            conv = StreamResize(in_width=8 * dh, out_width=W)
            m.submodules[f"{name}_resize"] = conv
            m.d.comb += [conv.i.valid.eq(beats.valid & addr_q.w_rdy & enable),
                         conv.i.payload.data.eq(beats.payload.data), conv.i.payload.last.eq(1),
                         beats.ready.eq(~enable | (conv.i.ready & addr_q.w_rdy)),
                         addr_q.w_en.eq(fire)]
            return conv.o

        shift = (word_bytes).bit_length() - 1

        def row_stride(row_bytes):
            """A row's bytes rounded up to whole bus words."""
            return ((row_bytes + word_bytes - 1) >> shift) << shift

        mask_stride = row_stride((seq_len + 7) >> 3)
        mask_words = L // W + 1
        # kept-key lists -> mask bit rows
        m.submodules.packer = packer = MaskPacker(max_seq_len=L, word_width=W)
        m.d.comb += packer.seq_len.eq(seq_len)
        wiring.connect(m, wiring.flipped(self.kept), packer.i)
        mask_src = source(W_MASK, mask_words, self.kept.valid & self.kept.ready & self.kept.payload.last)
        wiring.connect(m, packer.o, mask_src.i)
        running(mask_src, base.mask, mask_stride, "mask")

        # key_needed: on to the execution unit, and (trace) a copy packed to its rows
        iw = hw.seq_index_width
        m.submodules.needed_copy = ncopy = fifo.SyncFIFOBuffered(width=kv_request_layout(iw).size, depth=2)
        room = ncopy.w_rdy | ~trace
        m.d.comb += [self.needed_out.valid.eq(self.needed.valid & room),
                     self.needed_out.payload.eq(self.needed.payload),
                     self.needed.ready.eq(self.needed_out.ready & room),
                     ncopy.w_en.eq(self.needed.valid & self.needed.ready & trace),
                     ncopy.w_data.eq(self.needed.payload)]
        m.submodules.needed_packer = npack = MaskPacker(max_seq_len=L, word_width=W)
        m.d.comb += [npack.seq_len.eq(seq_len), npack.i.valid.eq(ncopy.r_rdy),
                     npack.i.payload.eq(ncopy.r_data), ncopy.r_en.eq(npack.i.ready)]
        kn_src = source(W_KEY_NEEDED, mask_words, ncopy.w_en & kv_request_layout(iw)(ncopy.w_data).last)
        wiring.connect(m, npack.o, kn_src.i)
        running(kn_src, base.key_needed, mask_stride, "key_needed")

        # q_hat / k_hat rows (trace: the speculation unit sends them only then)
        row_words = dh // word_bytes
        hat = self.hat
        hat_fire = hat.valid & hat.ready
        hat_src = source(W_HAT, row_words, hat_fire)
        hat_q = tagged(hat_src, "hat")
        q_hat_ptr, k_hat_ptr = pointer("q_hat", base.q_hat), pointer("k_hat", base.k_hat)
        m.d.comb += hat_q.w_data.eq(Mux(hat.payload.is_k, k_hat_ptr, q_hat_ptr))
        wiring.connect(m, row_beats("hat", hat, hat_q, 1, hat_fire), hat_src.i)
        with m.If(hat_fire & ~self.start):
            with m.If(hat.payload.is_k):
                m.d.sync += k_hat_ptr.eq(k_hat_ptr + dh)
            with m.Else():
                m.d.sync += q_hat_ptr.eq(q_hat_ptr + dh)

        # q / k / v rows of the execution unit (trace)
        proj = self.proj
        proj_fire = proj.valid & proj.ready & trace
        proj_src = source(W_PROJ, row_words, proj_fire)
        proj_q = tagged(proj_src, "proj")
        q_ptr, k_base, v_base = pointer("q", base.q), pointer("k", base.k), pointer("v", base.v)
        row_off = Signal(A)
        m.d.comb += row_off.eq(proj.payload.row * dh)
        with m.Switch(proj.payload.kind):
            with m.Case(0):
                m.d.comb += proj_q.w_data.eq(q_ptr)
            with m.Case(1):
                m.d.comb += proj_q.w_data.eq(k_base + row_off)
            with m.Default():
                m.d.comb += proj_q.w_data.eq(v_base + row_off)
        wiring.connect(m, row_beats("proj", proj, proj_q, trace, proj_fire), proj_src.i)
        with m.If(proj_fire & (proj.payload.kind == 0) & ~self.start):
            m.d.sync += q_ptr.eq(q_ptr + dh)
        with m.If(self.next_group & ~self.start):
            m.d.sync += [k_base.eq(k_base + seq_len * dh), v_base.eq(v_base + seq_len * dh)]

        # kept probabilities, compacted per row (trace)
        probs = self.probs
        probs_fire = probs.valid & probs.ready & trace
        probs_src = source(W_PROBS, (2 * L + word_bytes - 1) // word_bytes, probs_fire & probs.payload.last)
        probs_row = StreamResize(in_width=16, out_width=W, pad_last=True)
        m.submodules.probs_resize = probs_row
        m.d.comb += [probs_row.i.valid.eq(probs.valid & trace), probs_row.i.payload.data.eq(probs.payload.prob),
                     probs_row.i.payload.last.eq(probs.payload.last),
                     probs.ready.eq(~trace | probs_row.i.ready)]
        wiring.connect(m, probs_row.o, probs_src.i)
        running(probs_src, base.probs, row_stride(seq_len * 2), "probs")

        # o rows
        o = self.o
        chunk_last = o.payload.chunk == dh // hw.av_lanes - 1
        o_src = source(W_O, row_words, o.valid & o.ready & chunk_last)
        o_row = StreamResize(in_width=8 * hw.av_lanes, out_width=W)
        m.submodules.o_resize = o_row
        m.d.comb += [o_row.i.valid.eq(o.valid), o_row.i.payload.data.eq(o.payload.data),
                     o_row.i.payload.last.eq(chunk_last), o.ready.eq(o_row.i.ready)]
        wiring.connect(m, o_row.o, o_src.i)
        running(o_src, base.out, dh, "o")

        m.d.comb += [self.exec_quiet.eq((inflight[W_O] == 0) & (inflight[W_PROJ] == 0)),
                     self.quiet.eq((sum(p != 0 for p in inflight) == 0) & ~wb.busy)]
        return m



@block("results", unit="control")
def _results(cfg):
    """Result writer: mask, key_needed, trace and o rows to memory through one AXI4 write port."""
    return ResultWriter(cfg.hw)
