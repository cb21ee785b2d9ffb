"""cocotb testbench of the write-back arbiter: several producers' spans land in AxiRam intact."""

import itertools

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiBus, AxiRam

from rtl.soc.dma import DMACommand

from .streams import StreamSource, make_rng, pack, reset, start_clock

ADDR_WIDTH, DATA_WIDTH, N_SRC = 20, 64, 3
BPB = DATA_WIDTH // 8
REGION = (1 << ADDR_WIDTH) // N_SRC // 4096 * 4096


@cocotb.parametrize(stall=[0.0, 0.4])
async def spans_land_intact(dut, stall):
    await start_clock(dut)
    rng = make_rng(dut._log)
    ram = AxiRam(AxiBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=1 << ADDR_WIDTH)
    if stall:
        for ch in (ram.write_if.aw_channel, ram.write_if.w_channel, ram.write_if.b_channel):
            ch.set_pause_generator(rng.random() < stall for _ in itertools.count())
    reqs = [StreamSource(dut, f"req__{k}", rng, gap=stall) for k in range(N_SRC)]
    datas = [StreamSource(dut, f"data__{k}", rng, gap=stall) for k in range(N_SRC)]
    await reset(dut)
    layout = DMACommand(ADDR_WIDTH)
    expect = {}
    for k in range(N_SRC):
        # each producer writes its own region, spans in order, possibly overlapping each other
        for _ in range(12):
            beats = rng.choice([1, 3, 8, 40, 257])
            addr = k * REGION + rng.randrange(0, REGION - beats * BPB) // BPB * BPB
            words = [rng.getrandbits(DATA_WIDTH) for _ in range(beats)]
            reqs[k].send(pack(layout, {"addr": addr, "beats": beats}))
            datas[k].send_all(words)
            for i, w in enumerate(words):
                expect[addr + i * BPB] = w
    done = [0] * N_SRC     # `done` pulses per producer: one per span, after its write response
    for _ in range(200000):
        await RisingEdge(dut.clk)
        pulses = int(dut.done.value)
        for k in range(N_SRC):
            done[k] += (pulses >> k) & 1
        if all(s.idle for s in reqs + datas) and not int(dut.busy.value):
            break
    else:
        raise TimeoutError("write-back did not drain")
    for _ in range(5):
        await RisingEdge(dut.clk)
    for a, w in expect.items():
        got = int.from_bytes(ram.read(a, BPB), "little")
        assert got == w, f"word at {a:#x} = {got:#x}, wrote {w:#x}"
    assert int(dut.error.value) == 0
    assert done == [12] * N_SRC, f"done pulses per producer {done}, expected 12 each"
