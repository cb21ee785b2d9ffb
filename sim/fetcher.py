"""cocotb testbench of the Data Fetcher: requests to several consumers, AxiRam with stalls."""

import itertools

import cocotb
from cocotbext.axi import AxiBus, AxiRam

from rtl.soc.fetcher import fetch_request_layout
from rtl.common.resize import word_layout

from .streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock, unpack

ADDR_WIDTH, DATA_WIDTH, N_DEST = 20, 64, 3
BPB = DATA_WIDTH // 8


@cocotb.parametrize(stall=[0.0, 0.4])
async def routes_requests_in_order(dut, stall):
    await start_clock(dut)
    rng = make_rng(dut._log)
    ram = AxiRam(AxiBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=1 << ADDR_WIDTH)
    if stall:
        for ch in (ram.read_if.ar_channel, ram.read_if.r_channel):
            ch.set_pause_generator(rng.random() < stall for _ in itertools.count())
    req = StreamSource(dut, "req", rng, gap=stall)
    sinks = [StreamSink(dut, f"dest__{k}", rng, backpressure=stall) for k in range(N_DEST)]
    await reset(dut)
    ram.write(0, bytes(rng.getrandbits(8) for _ in range(1 << ADDR_WIDTH)))
    layout = fetch_request_layout(ADDR_WIDTH, N_DEST)
    expect = [[] for _ in range(N_DEST)]
    for _ in range(40):
        dest = rng.randrange(N_DEST)
        beats = rng.choice([1, 2, 8, 9, 72, 300])
        addr = rng.randrange(0, (1 << ADDR_WIDTH) - beats * BPB) // BPB * BPB
        req.send(pack(layout, {"dest": dest, "addr": addr, "beats": beats}))
        expect[dest] += [(int.from_bytes(ram.read(addr + i * BPB, BPB), "little"), i == beats - 1)
                         for i in range(beats)]
    for k in range(N_DEST):
        got = [unpack(word_layout(DATA_WIDTH), w) for w in await sinks[k].get(len(expect[k]))]
        assert [(g.data, bool(g.last)) for g in got] == expect[k], f"destination {k}"
    assert int(dut.error.value) == 0
