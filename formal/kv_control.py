"""KVControl proofs (SPEC 4.2): per KV head, no key is scheduled twice, every scheduled key was
requested, and nothing is taken between `last` and `clear`.

The wrapper keeps its own per-head books, independent of the block's `computed` flags:
`requested` (keys taken on `i`), `scheduled` (keys that left on `o` with `compute` = 1) and
`ended` (a `last` was taken). A KV head starts at `clear`.

Environment: the `i` producer keeps the stream rules (valid held until ready, payload stable),
and `clear` comes only while `o` holds no beat: the consumer (ExecutionUnit) clears at START,
after the previous head's final beat was taken. Without that assumption a beat of the old head
taken after `clear` would be booked to the new one.
"""

from amaranth.hdl import Assert, Assume, Mux, Signal

from rtl.execution.kv_control import KVControl

from .harness import Harness, hold_rule, channels

__all__ = ["KVControlRules"]


class KVControlRules(Harness):
    def __init__(self, dut: KVControl):
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        n = dut.max_seq_len
        i_ch = next(ch for ch in channels(dut) if ch.name == "i")
        m.d.comb += Assume(hold_rule(m, i_ch, self.armed), "i stream rules")
        m.d.comb += Assume(~dut.clear | ~dut.o.valid, "clear only with o empty")
        requested = Signal(n)
        scheduled = Signal(n)
        ended = Signal()
        took = dut.i.valid & dut.i.ready
        sent = dut.o.valid & dut.o.ready
        key_in, job = dut.i.payload.key, dut.o.payload
        m.d.comb += [
            Assert(~(ended & took), "a request taken between last and clear"),
            Assert(~(sent & job.compute & scheduled.bit_select(job.key, 1)), "a key scheduled twice"),
            Assert(~sent | requested.bit_select(job.key, 1), "a key scheduled that was not requested"),
            Assert(~(sent & ~job.compute) | (job.last & scheduled.bit_select(job.key, 1)),
                   "a compute = 0 beat that is not the repeated last key"),
        ]
        # invariants tying the block's state to the books (what makes k-induction close)
        held_key = 1 << job.key
        m.d.comb += [
            Assert(~self.armed | (self.internal("ended") == ended), "ended flag != last taken"),
            Assert(dut.computed == (scheduled | Mux(dut.o.valid & job.compute, held_key, 0)),
                   "computed != keys sent + the one held on o"),
            Assert(~dut.o.valid | ~job.compute | ~scheduled.bit_select(job.key, 1), "held key sent before"),
            Assert(~dut.o.valid | requested.bit_select(job.key, 1), "held key not requested"),
            Assert(~dut.o.valid | job.compute | (job.last & scheduled.bit_select(job.key, 1)),
                   "held compute = 0 beat not a repeated last key"),
            Assert((requested | dut.computed) == requested, "computed key never requested"),
        ]
        with m.If(dut.clear):
            m.d.sync += [requested.eq(0), scheduled.eq(0), ended.eq(0)]
        with m.Else():
            with m.If(took):
                m.d.sync += [requested.eq(requested | (1 << key_in)), ended.eq(ended | dut.i.payload.last)]
            with m.If(sent & job.compute):
                m.d.sync += scheduled.eq(scheduled | (1 << job.key))
