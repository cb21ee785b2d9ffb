"""AXI4 guard: bus faults end a job cleanly, without breaking the AXI rules on the memory side.

Sits between the accelerator's masters (`core`, the guard is their slave) and the memory
(`bus`). Normally every signal passes straight through while the guard keeps count of what is
outstanding on the memory side: a request held (valid, not ready; its payload latched), read
bursts whose last beat has not come, write beats still owed after an accepted AW, write
responses still owed. A fault is
- an error response: RRESP / BRESP SLVERR or DECERR (READ_/WRITE_SLVERR, READ_/WRITE_DECERR);
- a watchdog timeout: a read (address held, or a burst outstanding with no data offered) or a
  write (address or data held, or a response owed) waiting `limit` cycles on the memory
  (READ_TIMEOUT / WRITE_TIMEOUT; `limit` = 0: no watchdog). Cycles the core itself stalls
  (RREADY low, no write data yet) do not count.
On a fault the guard cuts the core off (it sees no ready, valid or response any more; `fault`
pulses the next cycle with `code` and `fault_addr`, so the controller can reset the core at
once) and finishes every outstanding transfer itself, as AXI requires (a master cannot
abandon beats or drop a valid): a held address stays valid with its payload, the remaining
read beats are taken and discarded, the owed write beats are sent with WSTRB = 0 (memory is not
touched) and WLAST on the burst's last, the responses are taken. `draining` is high until
nothing is outstanding; then the core is connected again. `dead` says the drain itself has
waited `limit` cycles on the memory (after a timeout: at once): only a reset of the accelerator
and its interconnect ends it.
Assumes the core's masters (`rtl.soc.dma`) send write data only after its AW and keep one burst per
direction in flight (the fault address is that of the current burst).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4
from rtl.soc.regmap import ERROR_CODES
from rtl.registry import block

__all__ = ["AXIGuard"]

_HELD = {"ar": ("addr", "len"), "aw": ("addr", "len"), "w": ("data", "strb", "last")}


class AXIGuard(wiring.Component):
    """AXI4 pass-through with fault detection, a watchdog and a clean drain (module docstring)."""

    def __init__(self, *, addr_width=32, data_width=64, limit_width=32):
        self.addr_width, self.data_width = addr_width, data_width
        sig = AXI4(addr_width=addr_width, data_width=data_width)
        super().__init__({
            "core": In(sig), "bus": Out(sig),
            "limit": In(limit_width),
            "fault": Out(1), "code": Out(8), "fault_addr": Out(addr_width),
            "draining": Out(1), "dead": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        c, b = self.core, self.bus
        drain = self.draining
        hs = {ch: getattr(b, f"{ch}valid") & getattr(b, f"{ch}ready") for ch in ("ar", "r", "aw", "w", "b")}

        # Requests held on the memory side, and their payloads: latched from what the memory sees
        # when a request appears (the core's while connected, the guard's own empty W beats while
        # draining), so a held request keeps its payload in either case.
        held, copy = {}, {}
        for ch, fields in _HELD.items():
            held[ch] = Signal(name=f"{ch}_held")
            m.d.sync += held[ch].eq(getattr(b, f"{ch}valid") & ~getattr(b, f"{ch}ready"))
            for f in fields:
                copy[ch + f] = Signal.like(getattr(c, ch + f), name=f"{ch}{f}_copy")
            with m.If(getattr(b, f"{ch}valid") & ~held[ch]):
                m.d.sync += [copy[ch + f].eq(getattr(b, ch + f)) for f in fields]
        r_bursts = Signal(range(4))       # read bursts accepted, last beat not yet seen
        w_owed = Signal(range(513))       # write beats owed for accepted AWs
        b_owed = Signal(range(4))         # write responses owed
        m.d.sync += [r_bursts.eq(r_bursts + hs["ar"] - (hs["r"] & b.rlast)),
                     w_owed.eq(w_owed + Mux(hs["aw"], b.awlen + 1, 0) - hs["w"]),
                     b_owed.eq(b_owed + hs["aw"] - hs["b"])]
        # the current bursts' addresses: the latched ones (a new request comes only after the
        # last burst's last beat or response, one cycle after a fault at the earliest)
        rd_addr, wr_addr = copy["araddr"], copy["awaddr"]

        # The channels: straight through, or driven by the guard while it drains.
        for name, member in c.signature.members.items():
            if name in ("rready", "bready") or member.flow == Out:   # core's inputs (flipped: Out)
                continue
            m.d.comb += getattr(b, name).eq(getattr(c, name))
        with m.If(~drain):
            m.d.comb += [c.arready.eq(b.arready), c.awready.eq(b.awready), c.wready.eq(b.wready),
                         c.rvalid.eq(b.rvalid), c.bvalid.eq(b.bvalid), b.rready.eq(c.rready),
                         b.bready.eq(c.bready)]
            for name in ("rid", "rdata", "rresp", "rlast", "bid", "bresp"):
                m.d.comb += getattr(c, name).eq(getattr(b, name))
        with m.Else():
            m.d.comb += [b.arvalid.eq(held["ar"]), b.araddr.eq(copy["araddr"]), b.arlen.eq(copy["arlen"]),
                         b.awvalid.eq(held["aw"]), b.awaddr.eq(copy["awaddr"]), b.awlen.eq(copy["awlen"]),
                         b.wvalid.eq(w_owed != 0), b.wdata.eq(Mux(held["w"], copy["wdata"], 0)),
                         b.wstrb.eq(Mux(held["w"], copy["wstrb"], 0)),
                         b.wlast.eq(Mux(held["w"], copy["wlast"], w_owed == 1)),
                         b.rready.eq(1), b.bready.eq(1)]

        # Watchdog: cycles each direction has waited on the memory.
        rd_wait = (b.arvalid & ~b.arready) | ((r_bursts != 0) & ~b.rvalid)
        wr_wait = ((b.awvalid & ~b.awready) | (b.wvalid & ~b.wready)
                   | ((b_owed != 0) & (w_owed == 0) & ~b.bvalid))
        stuck = {}
        for side, wait in (("rd", rd_wait), ("wr", wr_wait)):
            count = Signal(len(self.limit), name=f"{side}_waited")
            m.d.sync += count.eq(Mux(wait, count + 1, 0))
            stuck[side] = Signal(name=f"{side}_stuck")
            m.d.comb += stuck[side].eq((self.limit != 0) & wait & (count >= self.limit - 1))

        # Faults (while connected), first match wins.
        rd_err, wr_err = hs["r"] & b.rresp[1], hs["b"] & b.bresp[1]
        m.d.sync += self.fault.eq(0)
        with m.If(~drain):
            for cond, code, addr in reversed((
                    (rd_err, Mux(b.rresp[0], ERROR_CODES["READ_DECERR"], ERROR_CODES["READ_SLVERR"]), rd_addr),
                    (wr_err, Mux(b.bresp[0], ERROR_CODES["WRITE_DECERR"], ERROR_CODES["WRITE_SLVERR"]), wr_addr),
                    (stuck["rd"], ERROR_CODES["READ_TIMEOUT"], rd_addr),
                    (stuck["wr"], ERROR_CODES["WRITE_TIMEOUT"], wr_addr))):
                with m.If(cond):
                    m.d.sync += [drain.eq(1), self.fault.eq(1), self.code.eq(code), self.fault_addr.eq(addr)]
        with m.Else():
            with m.If(stuck["rd"] | stuck["wr"]):
                m.d.sync += self.dead.eq(1)
            idle = ~held["ar"] & ~held["aw"] & (r_bursts == 0) & (w_owed == 0) & (b_owed == 0)
            with m.If(idle):
                m.d.sync += [drain.eq(0), self.dead.eq(0)]
        return m


@block("axi_guard", unit="control")
def _axi_guard(cfg):
    """AXI4 guard: bus faults and the watchdog end a job; outstanding bursts drained per AXI."""
    return AXIGuard()
