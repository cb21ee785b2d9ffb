"""Write-back: spans from several producers written to memory over AXI4, one span at a time.

Producer k offers a span on `req[k]` (bus-aligned byte address, number of bus words) and its
words on `data[k]`. A `StreamArbiter` in packet mode grants the first waiting producer at or
after the last one served (round robin) and passes its command to the AXI4 writer in the cycle it
is offered, then its words until the writer reports the span done (`done[k]` pulses for one
cycle, after the memory's write response); `error` goes high (sticky) if any span got an error
response. A span must have at least one word.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4
from rtl.common.stream_arbiter import StreamArbiter
from rtl.soc.dma import AXI4Writer, DMACommand
from rtl.common.params import require_int

__all__ = ["WriteBack"]


class WriteBack(wiring.Component):
    """Round-robin write arbiter in front of an `AXI4Writer` (see module docstring)."""

    def __init__(self, *, n_src, addr_width=32, data_width=64):
        require_int("n_src", n_src, 1)
        self.n_src, self.addr_width = n_src, addr_width
        self.writer = AXI4Writer(addr_width=addr_width, data_width=data_width)
        super().__init__({
            "axi": Out(AXI4(addr_width=addr_width, data_width=data_width)),
            "req": In(stream.Signature(DMACommand(addr_width))).array(n_src),
            "data": In(stream.Signature(data_width)).array(n_src),
            "done": Out(n_src),
            "error": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.writer = wr = self.writer
        wiring.connect(m, wiring.flipped(self.axi), wr.axi)
        m.submodules.arbiter = arb = StreamArbiter(DMACommand(self.addr_width), self.n_src, hold=True)
        for k in range(self.n_src):
            wiring.connect(m, wiring.flipped(self.req[k]), arb.i[k])
        wiring.connect(m, arb.o, wr.cmd)
        # the granted producer's words follow its command until the writer reports the span done
        m.d.comb += [wr.done.ready.eq(1), arb.release.eq(wr.done.valid),
                     self.busy.eq(arb.locked | arb.o.valid)]
        with m.If(wr.done.valid & wr.done.payload):
            m.d.sync += self.error.eq(1)
        with m.Switch(arb.grant):
            for k in range(self.n_src):
                with m.Case(k):
                    m.d.comb += [wr.data.valid.eq(self.data[k].valid & arb.locked),
                                 wr.data.payload.eq(self.data[k].payload),
                                 self.data[k].ready.eq(wr.data.ready & arb.locked)]
        with m.If(wr.done.valid):
            m.d.comb += self.done.bit_select(arb.grant, 1).eq(1)
        return m
