"""On-demand K/V control of SPEC section 4.2: every needed key's K and V row exactly once.

Input `i`: key indices that some query needs (`key_needed` as an ascending list, or the kept-key
lists of query rows/tiles with repeats; `last` ends the KV head's requests: none is taken after
it until `clear`, so a request of the next KV head queued behind it is never deduplicated against
this head's keys). Output `o`: the
keys to project, each at most once per KV head, in request order, `compute` = 1; a repeated
key is dropped, except a repeated one carrying `last`, which is passed with `compute` = 0 so the
consumer still sees the end. `computed` shows the per-key flag of the current KV head; `clear`
(one cycle) starts a new KV head. `requests` and `scheduled` count beats in and keys out.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.params import require_int
from rtl.registry import block

__all__ = ["COUNT_WIDTH", "kv_request_layout", "kv_job_layout", "KVControl"]

COUNT_WIDTH = 32


def kv_request_layout(idx_width):
    return data.StructLayout({"key": unsigned(idx_width), "last": 1})


def kv_job_layout(idx_width):
    return data.StructLayout({"key": unsigned(idx_width), "compute": 1, "last": 1})


class KVControl(wiring.Component):
    """Dedup of K/V projection requests with one `computed` flag per key (registers)."""

    def __init__(self, *, max_seq_len):
        require_int("max_seq_len", max_seq_len)
        self.max_seq_len = max_seq_len
        idx_width = max(1, (max_seq_len - 1).bit_length())
        super().__init__({
            "i": In(stream.Signature(kv_request_layout(idx_width))),
            "o": Out(stream.Signature(kv_job_layout(idx_width))),
            "clear": In(1),
            "computed": Out(max_seq_len),
            "requests": Out(COUNT_WIDTH),
            "scheduled": Out(COUNT_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        req = self.i.payload
        seen = self.computed.bit_select(req.key, 1)
        take = ~self.o.valid | self.o.ready
        ended = Signal()                 # this KV head's `last` is in
        m.d.comb += self.i.ready.eq(take & ~self.clear & ~ended)
        with m.If(take):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.clear):
            m.d.sync += [self.computed.eq(0), self.requests.eq(0), self.scheduled.eq(0), ended.eq(0)]
        with m.Elif(self.i.valid & self.i.ready):
            m.d.sync += [ended.eq(req.last), self.requests.eq(self.requests + 1),
                         self.o.payload.key.eq(req.key), self.o.payload.last.eq(req.last),
                         self.o.payload.compute.eq(~seen)]
            with m.If(~seen | req.last):
                m.d.sync += self.o.valid.eq(1)
            with m.If(~seen):
                m.d.sync += [self.computed.eq(self.computed | (1 << req.key)),
                             self.scheduled.eq(self.scheduled + 1)]
        return m


@block("kv_control", unit="execution")
def _kv_control(cfg):
    """On-demand K/V control."""
    return KVControl(max_seq_len=cfg.hw.max_seq_len)
