"""Fetch scheduler: multi-row read commands of several sequencers, one row request at a time.

Each side k (a sequencer) hands a command on `cmd[k]` (destination, byte address of the first
row, rows, bus words per row; `ready` while the side is idle) and its row generator then offers
one fetcher request per row, rows one after the other (`busy[k]` until the last is taken,
`addr[k]` the next row's address, so after the command the address just past its rows). A row for
a credited destination (a `CreditFIFO` in front of its consumer) is offered only when that FIFO's
`space` holds the whole row, and the words are claimed (`claim`) as the request goes out: a
request never waits in the in-order fetcher for a busy consumer, so it never holds the other
sides. The sides' offers meet in a round-robin `StreamArbiter` (no added latency) before `req`.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.stream_arbiter import StreamArbiter
from rtl.soc.fetcher import fetch_request_layout
from rtl.common.params import require_int

__all__ = ["fetch_command_layout", "FetchScheduler"]


def fetch_command_layout(addr_width, n_dest, max_rows, max_words):
    """A multi-row read: destination, first row's byte address, rows, bus words per row."""
    return data.StructLayout({"dest": range(n_dest), "addr": addr_width, "rows": range(max_rows + 1),
                              "words": range(max_words + 1)})


class FetchScheduler(wiring.Component):
    """`n_sides` row generators, credit checks for the destinations of `credits` ({dest: FIFO
    depth}, in that order on `space` / `claim`), one arbiter (see module docstring)."""

    def __init__(self, *, n_sides, n_dest, credits, max_rows, max_words, addr_width=32, data_width=64):
        require_int("n_sides", n_sides, 1)
        self.n_sides, self.credits = n_sides, dict(credits)
        self.addr_width, self.word_bytes = addr_width, data_width // 8
        self.request = fetch_request_layout(addr_width, n_dest)
        depth = max(self.credits.values(), default=1)
        super().__init__({
            "cmd": In(stream.Signature(fetch_command_layout(addr_width, n_dest, max_rows, max_words))).array(n_sides),
            "busy": Out(n_sides),
            "addr": Out(addr_width).array(n_sides),
            "space": In(range(depth + 1)).array(len(self.credits)),
            "claim": Out(range(depth + 1)).array(len(self.credits)),
            "req": Out(stream.Signature(self.request)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.arbiter = arb = StreamArbiter(self.request, self.n_sides)
        wiring.connect(m, arb.o, wiring.flipped(self.req))
        shift = self.word_bytes.bit_length() - 1
        for k, cmd in enumerate(self.cmd):
            busy, addr = self.busy[k], self.addr[k]
            dest, rows, words = Signal.like(cmd.payload.dest), Signal.like(cmd.payload.rows), Signal.like(cmd.payload.words)
            m.d.comb += cmd.ready.eq(~busy)
            with m.If(cmd.valid & cmd.ready):
                m.d.sync += [busy.eq(1), dest.eq(cmd.payload.dest), addr.eq(cmd.payload.addr),
                             rows.eq(cmd.payload.rows), words.eq(cmd.payload.words)]
            room = 1                      # a credited destination holds the whole row
            for space, d in zip(self.space, self.credits):
                room = room & ((dest != d) | (space >= words))
            offer = arb.i[k]
            m.d.comb += [offer.valid.eq(busy & room), offer.payload.dest.eq(dest), offer.payload.addr.eq(addr),
                         offer.payload.beats.eq(words)]
            with m.If(offer.valid & offer.ready):
                m.d.sync += [addr.eq(addr + (words << shift)), rows.eq(rows - 1)]
                with m.If(rows == 1):
                    m.d.sync += busy.eq(0)
        fire = self.req.valid & self.req.ready
        for claim, d in zip(self.claim, self.credits):
            m.d.comb += claim.eq(Mux(fire & (self.req.payload.dest == d), self.req.payload.beats, 0))
        return m
