"""AXI4-Lite register bank generated from `rtl.soc.regmap`: `rw` registers drive `config`,
`ro` registers read `status`, `const` registers read their reset value.

Writes honour `wstrb`; CTRL.start is a one-cycle `start` pulse and reads back 0. An address
outside the map answers SLVERR (reads return 0). One write and one read may be in flight.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4Lite, AXI_RESP_OKAY, AXI_RESP_SLVERR
from rtl.registry import block

__all__ = ["RegisterBank", "register_layout", "bank_layout", "reset_value"]


def register_layout(reg):
    """The shape of one register's contents: a plain unsigned for one field, else a struct."""
    if len(reg.fields) == 1:
        return unsigned(reg.fields[0].width)
    return data.StructLayout({f.name: f.width for f in reg.fields})


def bank_layout(regs, access):
    """The struct of every register with `access` ("rw" -> `config`, "ro" -> `status`)."""
    return data.StructLayout({r.name.lower(): register_layout(r) for r in regs if r.access == access})


def reset_value(reg):
    """The register's value after reset (its fields' resets packed)."""
    return reg.pack()


class RegisterBank(wiring.Component):
    """AXI4-Lite slave over a register map (see module docstring)."""

    def __init__(self, regs, *, addr_width=None):
        self.regs = list(regs)
        span = 4 * len(self.regs)
        # the default window always has a word past the map, which answers SLVERR
        self.addr_width = addr_width or max(3, span.bit_length())
        if (1 << self.addr_width) < span:
            raise ValueError(f"addr_width = {addr_width}: too narrow for {len(self.regs)} registers")
        super().__init__({
            "axil": In(AXI4Lite(addr_width=self.addr_width)),
            "config": Out(bank_layout(self.regs, "rw"), init={r.name.lower(): self._init(r) for r in self.regs
                                             if r.access == "rw"}),
            "status": In(bank_layout(self.regs, "ro")),
            "start": Out(1),
        })

    @staticmethod
    def _init(reg):
        value = reset_value(reg)
        if len(reg.fields) == 1:
            return value
        out, lo = {}, 0
        for f in reg.fields:
            out[f.name] = (value >> lo) & ((1 << f.width) - 1)
            lo += f.width
        return out

    def elaborate(self, platform):
        m = Module()
        bus = self.axil
        word = lambda addr: addr[2:]

        # Write: take address and data together, answer on B.
        take_w = Signal()
        m.d.comb += take_w.eq(bus.awvalid & bus.wvalid & ~bus.bvalid)
        m.d.comb += [bus.awready.eq(take_w), bus.wready.eq(take_w)]
        m.d.sync += self.start.eq(0)
        strb_mask = Signal(32)
        m.d.comb += strb_mask.eq(sum((bus.wstrb[i].replicate(8) << (8 * i)) for i in range(4)))
        with m.If(take_w):
            m.d.sync += [bus.bvalid.eq(1), bus.bresp.eq(AXI_RESP_SLVERR)]
            with m.Switch(word(bus.awaddr)):
                for i, reg in enumerate(self.regs):
                    with m.Case(i):
                        m.d.sync += bus.bresp.eq(AXI_RESP_OKAY)
                        if reg.access == "rw":
                            target = getattr(self.config, reg.name.lower())
                            raw = target.as_value() if hasattr(target, "as_value") else target
                            merged = (raw & ~strb_mask[:len(raw)]) | (bus.wdata[:len(raw)] & strb_mask[:len(raw)])
                            m.d.sync += raw.eq(merged)
                            if reg.name == "CTRL":
                                m.d.sync += [self.config.ctrl.start.eq(0),
                                             self.start.eq(bus.wdata[0] & bus.wstrb[0])]
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)

        # Read: one beat per address, held until rready.
        m.d.comb += bus.arready.eq(~bus.rvalid)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [bus.rvalid.eq(1), bus.rresp.eq(AXI_RESP_SLVERR), bus.rdata.eq(0)]
            with m.Switch(word(bus.araddr)):
                for i, reg in enumerate(self.regs):
                    with m.Case(i):
                        m.d.sync += bus.rresp.eq(AXI_RESP_OKAY)
                        if reg.access == "const":
                            m.d.sync += bus.rdata.eq(reset_value(reg))
                        else:
                            src = getattr(self.config if reg.access == "rw" else self.status,
                                          reg.name.lower())
                            m.d.sync += bus.rdata.eq(src.as_value() if hasattr(src, "as_value") else src)
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        return m


@block("regbank", unit="control")
def _regbank(cfg):
    """AXI4-Lite configuration/status register bank of the top level."""
    from rtl.soc.regmap import register_map

    return RegisterBank(register_map(cfg.hw))
