"""AXI4 burst reader and writer: the memory side of LAPA's data fetcher.

`AXI4Reader` turns commands (byte address, beats) into INCR bursts of at most 256 beats that
never cross a 4 KiB boundary, and streams the returned words out with `last` on a command's
final beat. `AXI4Writer` does the same for writes, taking words from a stream and answering
each command on `done` (with an error flag if any burst got a non-OKAY response).
Addresses must be aligned to the bus width; one burst is in flight per direction; a command of
zero beats is accepted and ignored.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4

__all__ = ["DMACommand", "AXI4Reader", "AXI4Writer", "burst_beats"]

AXI_BURST_INCR = 0b01
BEATS_WIDTH = 16  # beats per command (up to 65535 words)


def DMACommand(addr_width):
    """A transfer request: byte address (bus-aligned) and number of bus words."""
    return data.StructLayout({"addr": addr_width, "beats": BEATS_WIDTH})


def burst_beats(m, addr, remaining, bytes_per_beat):
    """Beats of the next burst: at most 256, the remaining count, and up to the 4 KiB boundary."""
    shift = bytes_per_beat.bit_length() - 1
    to_boundary = Signal(range(4096 // bytes_per_beat + 1))
    m.d.comb += to_boundary.eq((4096 - addr[:12]) >> shift)
    capped = Signal(range(257))
    beats = Signal(range(257))
    m.d.comb += [capped.eq(Mux(to_boundary < 256, to_boundary, 256)),
                 beats.eq(Mux(remaining < capped, remaining, capped))]
    return beats


def _check(addr_width, data_width):
    if data_width not in (32, 64, 128, 256, 512):
        raise ValueError(f"data_width = {data_width}: must be 32, 64, 128, 256 or 512")
    if not 12 <= addr_width <= 64:
        raise ValueError(f"addr_width = {addr_width}: out of range 12..64")


def _drive_constants(bus, p, bytes_per_beat):
    """The fixed AXI fields of a burst channel `p` ('ar' or 'aw')."""
    return [getattr(bus, f"{p}size").eq(bytes_per_beat.bit_length() - 1),
            getattr(bus, f"{p}burst").eq(AXI_BURST_INCR),
            getattr(bus, f"{p}cache").eq(0b0011), getattr(bus, f"{p}prot").eq(0),
            getattr(bus, f"{p}lock").eq(0), getattr(bus, f"{p}id").eq(0)]


class _BurstSequencer:
    """The state shared by reader and writer: current address, beats left, this burst's size."""

    def __init__(self, m, addr_width, bytes_per_beat):
        self.addr = Signal(addr_width)
        self.remaining = Signal(BEATS_WIDTH)
        self.beats = burst_beats(m, self.addr, self.remaining, bytes_per_beat)
        self.bytes_per_beat = bytes_per_beat

    def load(self, cmd):
        return [self.addr.eq(cmd.addr), self.remaining.eq(cmd.beats)]

    def issue(self):
        """Statements when the address handshake of a burst happens."""
        return [self.addr.eq(self.addr + self.beats * self.bytes_per_beat),
                self.remaining.eq(self.remaining - self.beats)]


class _AXI4Master(wiring.Component):
    """An AXI4 master port, a command stream and a `busy` flag, plus the subclass's ports."""

    def __init__(self, addr_width, data_width, members):
        _check(addr_width, data_width)
        self.addr_width, self.data_width = addr_width, data_width
        super().__init__({
            "axi": Out(AXI4(addr_width=addr_width, data_width=data_width)),
            "cmd": In(stream.Signature(DMACommand(addr_width))),
            "busy": Out(1),
            **members,
        })


class AXI4Reader(_AXI4Master):
    """AXI4 read master: `cmd` in, `data` words out (with `last`), sticky `error` on SLVERR/DECERR."""

    def __init__(self, *, addr_width=32, data_width=64):
        super().__init__(addr_width, data_width, {
            "data": Out(stream.Signature(data.StructLayout({"data": data_width, "last": 1}))),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.axi
        seq = _BurstSequencer(m, self.addr_width, self.data_width // 8)
        m.d.comb += _drive_constants(bus, "ar", self.data_width // 8)
        m.d.comb += [bus.araddr.eq(seq.addr), bus.arlen.eq(seq.beats - 1)]
        with m.FSM(name="reader"):
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid & (self.cmd.payload.beats != 0)):
                    m.d.sync += seq.load(self.cmd.payload)
                    m.next = "ADDRESS"
            with m.State("ADDRESS"):
                m.d.comb += [bus.arvalid.eq(1), self.busy.eq(1)]
                with m.If(bus.arready):
                    m.d.sync += seq.issue()
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [self.busy.eq(1), self.data.valid.eq(bus.rvalid),
                             bus.rready.eq(self.data.ready),
                             self.data.payload.data.eq(bus.rdata),
                             self.data.payload.last.eq(bus.rlast & (seq.remaining == 0))]
                with m.If(bus.rvalid & self.data.ready):
                    with m.If(bus.rresp[1]):
                        m.d.sync += self.error.eq(1)
                    with m.If(bus.rlast):
                        m.next = "IDLE"
                        with m.If(seq.remaining != 0):
                            m.next = "ADDRESS"
        return m


class AXI4Writer(_AXI4Master):
    """AXI4 write master: `cmd` and `data` words in; one `done` item per command (payload: error)."""

    def __init__(self, *, addr_width=32, data_width=64):
        super().__init__(addr_width, data_width, {
            "data": In(stream.Signature(data_width)),
            "done": Out(stream.Signature(1)),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.axi
        seq = _BurstSequencer(m, self.addr_width, self.data_width // 8)
        left = Signal(range(257))
        failed = Signal()
        m.d.comb += _drive_constants(bus, "aw", self.data_width // 8)
        m.d.comb += [bus.awaddr.eq(seq.addr), bus.awlen.eq(seq.beats - 1),
                     bus.wstrb.eq(-1), bus.wdata.eq(self.data.payload)]
        with m.FSM(name="writer"):
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid & (self.cmd.payload.beats != 0)):
                    m.d.sync += [*seq.load(self.cmd.payload), failed.eq(0)]
                    m.next = "ADDRESS"
            with m.State("ADDRESS"):
                m.d.comb += [bus.awvalid.eq(1), self.busy.eq(1)]
                with m.If(bus.awready):
                    m.d.sync += [*seq.issue(), left.eq(seq.beats)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += [self.busy.eq(1), bus.wvalid.eq(self.data.valid),
                             self.data.ready.eq(bus.wready), bus.wlast.eq(left == 1)]
                with m.If(self.data.valid & bus.wready):
                    m.d.sync += left.eq(left - 1)
                    with m.If(left == 1):
                        m.next = "RESPONSE"
            with m.State("RESPONSE"):
                m.d.comb += [bus.bready.eq(1), self.busy.eq(1)]
                with m.If(bus.bvalid):
                    m.d.sync += failed.eq(failed | bus.bresp[1])
                    m.next = "ADDRESS"
                    with m.If(seq.remaining == 0):
                        m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += [self.done.valid.eq(1), self.done.payload.eq(failed), self.busy.eq(1)]
                with m.If(self.done.ready):
                    m.next = "IDLE"
        return m
