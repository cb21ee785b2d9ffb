"""AXI4 and AXI4-Lite interface signatures (master's view), with flat AMBA member names.

Flat names (`awaddr`, `rvalid`, ...) give Verilog ports `<port>__awaddr`, which bus models such
as cocotbext-axi find with the prefix `<port>_`. A slave declares `In(AXI4Lite(...))`.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AXI4Lite", "AXI4", "AXI_RESP_OKAY", "AXI_RESP_SLVERR", "join_read_write"]

AXI_RESP_OKAY = 0b00
AXI_RESP_SLVERR = 0b10


class AXI4Lite(wiring.Signature):
    """AXI4-Lite, as driven by the master."""

    def __init__(self, *, addr_width=12, data_width=32):
        if data_width not in (32, 64):
            raise ValueError(f"data_width = {data_width}: AXI4-Lite needs 32 or 64")
        if not 3 <= addr_width <= 64:
            raise ValueError(f"addr_width = {addr_width}: out of range 3..64")
        self.addr_width = addr_width
        self.data_width = data_width
        super().__init__({
            "awaddr": Out(addr_width), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_width), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(data_width), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        })


class AXI4(wiring.Signature):
    """AXI4 (full, with bursts), as driven by the master; single ID, no user signals."""

    def __init__(self, *, addr_width=32, data_width=64, id_width=1):
        if data_width not in (32, 64, 128, 256, 512):
            raise ValueError(f"data_width = {data_width}: must be 32, 64, 128, 256 or 512")
        if not 12 <= addr_width <= 64:
            raise ValueError(f"addr_width = {addr_width}: out of range 12..64")
        self.addr_width = addr_width
        self.data_width = data_width
        self.id_width = id_width
        ch = lambda p: {f"{p}id": Out(id_width), f"{p}addr": Out(addr_width), f"{p}len": Out(8),
                        f"{p}size": Out(3), f"{p}burst": Out(2), f"{p}lock": Out(1),
                        f"{p}cache": Out(4), f"{p}prot": Out(3), f"{p}valid": Out(1),
                        f"{p}ready": In(1)}
        super().__init__({
            **ch("aw"),
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1),
            "wvalid": Out(1), "wready": In(1),
            "bid": In(id_width), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            **ch("ar"),
            "rid": In(id_width), "rdata": In(data_width), "rresp": In(2), "rlast": In(1),
            "rvalid": In(1), "rready": Out(1),
        })


def join_read_write(m, bus, reader_bus, writer_bus):
    """Drive a master-side AXI4 port `bus` with the read channels (AR, R) of `reader_bus` and
    the write channels (AW, W, B) of `writer_bus`, both master-side AXI4 ports of submodules."""
    for name, member in bus.signature.members.items():
        src = reader_bus if name.startswith(("ar", "r")) else writer_bus
        if member.flow == Out:
            m.d.comb += getattr(bus, name).eq(getattr(src, name))
        else:
            m.d.comb += getattr(src, name).eq(getattr(bus, name))
