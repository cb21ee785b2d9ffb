"""Write-back: spans from several producers written to memory over AXI4, one span at a time.

Producer k offers a span on `req[k]` (bus-aligned byte address, number of bus words) and its
words on `data[k]`. The arbiter grants the lowest-numbered waiting producer whose turn it is
(round robin), passes its command to the AXI4 writer and its words through until the writer
reports the span done (`done[k]` pulses for one cycle, after the memory's write response); `error`
goes high (sticky) if any span got an error response. A span must have at least one word.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import AXI4
from .dma import AXI4Writer, DMACommand
from .params import require_int

__all__ = ["WriteBack"]


class WriteBack(wiring.Component):
    """Round-robin write arbiter in front of an `AXI4Writer` (see module docstring)."""

    def __init__(self, *, n_src, addr_width=32, data_width=64):
        require_int("n_src", n_src, 1)
        self.n_src = n_src
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
        n = self.n_src
        grant = Signal(range(n))
        turn = Signal(range(n))        # round robin: search starts here
        m.d.comb += wr.done.ready.eq(1)
        with m.If(wr.done.valid & wr.done.payload):
            m.d.sync += self.error.eq(1)
        for k in range(n):
            m.d.comb += self.data[k].ready.eq(0)
        with m.FSM(name="writeback"):
            with m.State("IDLE"):
                # the first waiting producer at or after `turn`, wrapping around
                for off in reversed(range(n)):
                    k = Signal(range(n), name=f"cand{off}")
                    m.d.comb += k.eq((turn + off) % n if n > 1 else 0)
                    with m.If(self._req_valid(k)):
                        m.d.sync += grant.eq(k)
                m.d.comb += self.busy.eq(0)
                any_valid = 0
                for k in range(n):
                    any_valid = any_valid | self.req[k].valid
                with m.If(any_valid):
                    m.next = "COMMAND"
            with m.State("COMMAND"):
                m.d.comb += self.busy.eq(1)
                with m.Switch(grant):
                    for k in range(n):
                        with m.Case(k):
                            m.d.comb += [wr.cmd.valid.eq(self.req[k].valid),
                                         wr.cmd.payload.eq(self.req[k].payload),
                                         self.req[k].ready.eq(wr.cmd.ready)]
                with m.If(wr.cmd.valid & wr.cmd.ready):
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += self.busy.eq(1)
                with m.Switch(grant):
                    for k in range(n):
                        with m.Case(k):
                            m.d.comb += [wr.data.valid.eq(self.data[k].valid),
                                         wr.data.payload.eq(self.data[k].payload),
                                         self.data[k].ready.eq(wr.data.ready)]
                with m.If(wr.done.valid):
                    m.d.comb += self.done.bit_select(grant, 1).eq(1)
                    m.d.sync += turn.eq(Mux(grant == n - 1, 0, grant + 1))
                    m.next = "IDLE"
        return m

    def _req_valid(self, k):
        valid = 0
        for j in range(self.n_src):
            valid = valid | ((k == j) & self.req[j].valid)
        return valid
