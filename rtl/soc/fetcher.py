"""Data Fetcher: reads spans of the job's buffers over AXI4 and routes them to their consumers.

A request names a destination, a bus-aligned byte address and a number of bus words; the
words go out on `dest[k]` with `last` on the request's final word. Requests are served in
order, one at a time (the reader takes the next request only after the last word of the
previous one), which is what makes on-demand fetching of single rows (the x rows of needed
keys, the paper's Data Fetcher) and bulk reads (weights) the same operation.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4
from rtl.soc.dma import BEATS_WIDTH, AXI4Reader
from rtl.common.params import require_int
from rtl.common.resize import word_layout

__all__ = ["fetch_request_layout", "DataFetcher"]


def fetch_request_layout(addr_width, n_dest):
    """A fetch request: destination index, byte address, number of bus words."""
    return data.StructLayout({"dest": range(n_dest), "addr": addr_width, "beats": BEATS_WIDTH})


class DataFetcher(wiring.Component):
    """AXI4 reads routed to `n_dest` word streams (see module docstring)."""

    def __init__(self, *, n_dest, addr_width=32, data_width=64):
        require_int("n_dest", n_dest, 1)
        self.n_dest, self.addr_width, self.data_width = n_dest, addr_width, data_width
        self.reader = AXI4Reader(addr_width=addr_width, data_width=data_width)
        super().__init__({
            "axi": Out(AXI4(addr_width=addr_width, data_width=data_width)),
            "req": In(stream.Signature(fetch_request_layout(addr_width, n_dest))),
            "dest": Out(stream.Signature(word_layout(data_width))).array(n_dest),
            "error": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.reader = rd = self.reader
        wiring.connect(m, wiring.flipped(self.axi), rd.axi)
        current = Signal(range(self.n_dest))
        m.d.comb += [rd.cmd.payload.addr.eq(self.req.payload.addr),
                     rd.cmd.payload.beats.eq(self.req.payload.beats),
                     rd.cmd.valid.eq(self.req.valid), self.req.ready.eq(rd.cmd.ready),
                     self.error.eq(rd.error), self.busy.eq(rd.busy)]
        with m.If(self.req.valid & self.req.ready):
            m.d.sync += current.eq(self.req.payload.dest)
        for k, port in enumerate(self.dest):
            m.d.comb += [port.payload.eq(rd.data.payload), port.valid.eq(rd.data.valid & (current == k))]
            with m.If(current == k):
                m.d.comb += rd.data.ready.eq(port.ready)
        return m
