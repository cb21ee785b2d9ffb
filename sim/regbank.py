"""cocotb testbench of the AXI4-Lite register bank, driven by cocotbext-axi's AxiLiteMaster."""

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from rtl.soc.regbank import RegisterBank, reset_value
from rtl.soc.regmap import register_map

from .streams import load_config, make_rng, reset, start_clock


def _value(reg, rng):
    return rng.getrandbits(reg.width)


def _port_slice(bank, port, reg):
    """Bit offset and width of a register inside the flat `config`/`status` port."""
    layout = bank.signature.members[port].shape
    field = layout[reg.name.lower()]
    return field.offset, reg.width


async def _setup(dut):
    await start_clock(dut)
    master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "axil_"), dut.clk, dut.rst)
    await reset(dut)
    return master


@cocotb.test()
async def reset_values_and_read_write(dut):
    """Every register reads its reset value; rw registers take random values (and drive `config`)."""
    cfg = load_config()
    regs = register_map(cfg.hw)
    bank = RegisterBank(regs)
    rng = make_rng(dut._log)
    master = await _setup(dut)
    status_bits = rng.getrandbits(len(dut.status))
    dut.status.value = status_bits
    await RisingEdge(dut.clk)
    for reg in regs:
        got = int.from_bytes((await master.read(reg.offset, 4)).data, "little")
        if reg.access == "ro":
            off, width = _port_slice(bank, "status", reg)
            want = (status_bits >> off) & ((1 << width) - 1)
        else:
            want = reset_value(reg)
        assert got == want, f"{reg.name}: read {got:#x} after reset, want {want:#x}"
    written = {}
    for _ in range(3):
        for reg in regs:
            if reg.access != "rw" or reg.name == "CTRL":
                continue
            written[reg.name] = _value(reg, rng)
            resp = await master.write(reg.offset, written[reg.name].to_bytes(4, "little"))
            assert resp.resp == AxiResp.OKAY
        config = int(dut.config.value)
        for reg in regs:
            if reg.name in written:
                got = int.from_bytes((await master.read(reg.offset, 4)).data, "little")
                assert got == written[reg.name], f"{reg.name}: read back {got:#x}, wrote {written[reg.name]:#x}"
                off, width = _port_slice(bank, "config", reg)
                assert (config >> off) & ((1 << width) - 1) == written[reg.name], reg.name


@cocotb.test()
async def byte_strobes_start_pulse_and_errors(dut):
    cfg = load_config()
    regs = {r.name: r for r in register_map(cfg.hw)}
    master = await _setup(dut)
    x = regs["X_ADDR"]
    await master.write(x.offset, (0x11223344).to_bytes(4, "little"))
    await master.write(x.offset + 1, b"\xAA")  # byte lane 1 only
    got = int.from_bytes((await master.read(x.offset, 4)).data, "little")
    assert got == 0x1122AA44, hex(got)

    pulses = []

    async def watch():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.start.value):
                pulses.append(1)
    cocotb.start_soon(watch())
    ctrl = regs["CTRL"]
    await master.write(ctrl.offset, (0b11).to_bytes(4, "little"))
    for _ in range(4):
        await RisingEdge(dut.clk)
    assert len(pulses) == 1, f"start pulsed {len(pulses)} times"
    got = int.from_bytes((await master.read(ctrl.offset, 4)).data, "little")
    assert got == 0b10, f"CTRL reads {got:#x}: start must self-clear, irq_enable stay"

    beyond = 4 * len(regs)
    assert (await master.write(beyond, b"\0\0\0\0")).resp == AxiResp.SLVERR
    resp = await master.read(beyond, 4)
    assert resp.resp == AxiResp.SLVERR and resp.data == b"\0\0\0\0"
    # a write to a read-only register is accepted and ignored
    ident = regs["ID"]
    await master.write(ident.offset, b"\0\0\0\0")
    assert int.from_bytes((await master.read(ident.offset, 4)).data, "little") == 0x4C415041
