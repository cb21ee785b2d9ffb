"""AXI proofs: the AXI4 masters of rtl/soc/dma.py never cross 4 KiB and keep AXI4's handshake rules;
the register bank keeps AXI4-Lite's (`AXILiteSlaveRules`).

Checked on `AXI4Reader` and `AXI4Writer`, under arbitrary commands (bus-aligned addresses, the
blocks' documented contract), arbitrary slave timing and responses:
- AW, W, AR: valid held until ready with the payload stable (`hold_rule`), and low in the first
  cycle after reset;
- the fixed AR / AW fields (id, size, burst, lock, cache, prot) constant at all times;
- every AR / AW: INCR, `size` = the bus width, `addr` aligned to it, and
  `addr % 4096 + (len + 1) * bytes <= 4096` (no 4 KiB crossing);
- W: beats only for an accepted AW, `wlast` exactly on beat `awlen + 1`; one burst in flight
  per direction (the blocks' design: the next address only after the last beat / response).
Environment (the slave): R and B keep the hold rule too; R beats come only for an accepted AR,
`rlast` on beat `arlen + 1`; B only after a burst's last W beat.
"""

from amaranth.hdl import Assert, Assume, Cat, Mux, Signal

from rtl.soc.dma import AXI4Reader, AXI4Writer

from .harness import Harness, channels, hold_rule, past

__all__ = ["AXIMasterRules"]

INCR = 0b01


class AXIMasterRules(Harness):
    def __init__(self, dut):
        if not isinstance(dut, (AXI4Reader, AXI4Writer)):
            raise TypeError(f"{dut!r}: an AXI4Reader or AXI4Writer")
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        bus, nbytes = dut.axi, dut.data_width // 8
        shift = nbytes.bit_length() - 1
        for ch in channels(dut):
            rule = hold_rule(m, ch, self.armed)
            m.d.comb += Assert(rule, f"{ch.name} hold rule") if ch.produces else Assume(rule, f"{ch.name} hold rule")
        m.d.comb += Assume(~dut.cmd.valid | (dut.cmd.payload.addr[:shift] == 0), "cmd address bus-aligned")
        writer = isinstance(dut, AXI4Writer)
        p = "aw" if writer else "ar"
        valid, ready = getattr(bus, f"{p}valid"), getattr(bus, f"{p}ready")
        addr, alen = getattr(bus, f"{p}addr"), getattr(bus, f"{p}len")
        m.d.comb += [
            Assert(self.armed | ~valid, f"{p}valid high right after reset"),
            Assert(~valid | (getattr(bus, f"{p}burst") == INCR), f"{p}burst not INCR"),
            Assert(~valid | (getattr(bus, f"{p}size") == shift), f"{p}size not the bus width"),
            Assert(addr[:shift] == 0, f"{p}addr not aligned"),      # always: the induction invariant
            Assert(~valid | (addr[:12] + ((alen + 1) << shift) <= 4096), f"{p} burst crosses 4 KiB"),
        ]
        from .axi_guard import FIXED           # the guard relies on them (formal/axi_guard.py)
        fixed = Cat(*(getattr(bus, p + f) for f in FIXED))
        m.d.comb += Assert(~self.armed | (fixed == past(m, fixed)), f"{p} fixed fields not constant")
        fsm = self.body._generated["writer" if writer else "reader"]
        m.d.comb += Assert(~fsm.ongoing("ADDRESS") | (self.internal("remaining") != 0),
                           "an address phase with no beats left")   # else len = 0 - 1 = 255
        if writer:
            self._writes(m, dut, bus)
        else:
            self._reads(m, dut, bus)

    def _reads(self, m, dut, bus):
        open_, beats, length = Signal(), Signal(9), Signal(8)
        fsm = self.body._generated["reader"]
        ar = bus.arvalid & bus.arready
        r = bus.rvalid & bus.rready
        m.d.comb += [
            Assume(~bus.rvalid | open_, "R only for an accepted AR"),
            Assume(~bus.rvalid | ~open_ | (bus.rlast == (beats == length)), "rlast on beat arlen + 1"),
            Assert(~(bus.arvalid & open_), "a second read burst in flight"),
            Assert(open_ == fsm.ongoing("DATA"), "R expected != reader in DATA"),
        ]
        with m.If(ar):
            m.d.sync += [open_.eq(1), beats.eq(0), length.eq(bus.arlen)]
        with m.If(r):
            m.d.sync += beats.eq(beats + 1)
            with m.If(bus.rlast):
                m.d.sync += open_.eq(0)

    def _writes(self, m, dut, bus):
        open_, owed, beats, length = Signal(), Signal(), Signal(9), Signal(8)
        fsm = self.body._generated["writer"]
        left = self.internal("left")
        aw = bus.awvalid & bus.awready
        w = bus.wvalid & bus.wready
        b = bus.bvalid & bus.bready
        m.d.comb += [
            Assume(~bus.bvalid | owed, "B only after a burst's last W beat"),
            Assert(self.armed | ~bus.wvalid, "wvalid high right after reset"),
            Assert(~bus.wvalid | open_, "a W beat without an accepted AW"),
            Assert(~bus.wvalid | (bus.wlast == (beats == length)), "wlast not on beat awlen + 1"),
            Assert(~(bus.awvalid & (open_ | owed)), "a second write burst in flight"),
            Assert(open_ == fsm.ongoing("DATA"), "W expected != writer in DATA"),
            Assert(owed == fsm.ongoing("RESPONSE"), "B expected != writer in RESPONSE"),
            Assert(~open_ | (beats <= length), "more W beats than awlen + 1"),
            Assert(~open_ | (left == length + 1 - beats), "beats left != awlen + 1 - sent"),
        ]
        with m.If(aw):
            m.d.sync += [open_.eq(1), beats.eq(0), length.eq(bus.awlen)]
        with m.If(w):
            m.d.sync += beats.eq(beats + 1)
            with m.If(bus.wlast):
                m.d.sync += [open_.eq(0), owed.eq(1)]
        with m.If(b):
            m.d.sync += owed.eq(0)


class AXILiteSlaveRules(Harness):
    """The register bank as an AXI4-Lite slave: B only for an accepted AW and W pair, R only for
    an accepted AR, each answered once; OKAY inside the register map, SLVERR past it; the ID
    register reads LAPA_ID. The master side (AW, W, AR, and B/R ready) is free but for the hold
    rule on AW, W, AR."""

    def __init__(self, dut):
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        from rtl.soc.axi import AXI_RESP_OKAY, AXI_RESP_SLVERR
        from rtl.soc.regmap import LAPA_ID

        bus = dut.axil
        for ch in channels(dut):
            rule = hold_rule(m, ch, self.armed)
            m.d.comb += Assert(rule, f"{ch.name} hold rule") if ch.produces else Assume(rule, f"{ch.name} hold rule")
        n_regs = len(dut.regs)
        aw_n, w_n, ar_n = Signal(2), Signal(2), Signal(2)       # accepted, not yet answered
        aw_ok, ar_ok, ar_id = Signal(), Signal(), Signal()
        aw = bus.awvalid & bus.awready
        w = bus.wvalid & bus.wready
        ar = bus.arvalid & bus.arready
        b = bus.bvalid & bus.bready
        r = bus.rvalid & bus.rready
        in_map = lambda addr: addr[2:] < n_regs
        m.d.comb += [
            Assert(~bus.bvalid | ((aw_n != 0) & (w_n != 0)), "B before its AW and W were accepted"),
            Assert(~bus.rvalid | (ar_n != 0), "R before its AR was accepted"),
            Assert(bus.bvalid == ((aw_n != 0) & (w_n != 0)), "an accepted write never answered"),
            Assert(bus.rvalid == (ar_n != 0), "an accepted read never answered"),
            Assert((aw_n <= 1) & (w_n <= 1) & (ar_n <= 1), "more than one transfer outstanding"),
            Assert(aw_n == w_n, "AW and W taken apart"),      # this bank's design: one write = both
            Assert(~bus.bvalid | (bus.bresp == Mux(aw_ok, AXI_RESP_OKAY, AXI_RESP_SLVERR)),
                   "bresp not OKAY inside the map / SLVERR past it"),
            Assert(~bus.rvalid | (bus.rresp == Mux(ar_ok, AXI_RESP_OKAY, AXI_RESP_SLVERR)),
                   "rresp not OKAY inside the map / SLVERR past it"),
            Assert(~bus.rvalid | ~ar_id | (bus.rdata == LAPA_ID), "ID register != LAPA_ID"),
        ]
        m.d.sync += [aw_n.eq(aw_n + aw - b), w_n.eq(w_n + w - b), ar_n.eq(ar_n + ar - r)]
        with m.If(aw):
            m.d.sync += aw_ok.eq(in_map(bus.awaddr))
        with m.If(ar):
            m.d.sync += [ar_ok.eq(in_map(bus.araddr)), ar_id.eq(bus.araddr[2:] == 0)]
