"""cocotb testbench of the AXI4 burst reader and writer against cocotbext-axi's AxiRam."""

import itertools

import cocotb
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiBus, AxiRam

from rtl.soc.axi import AXI4, join_read_write
from rtl.soc.dma import AXI4Reader, AXI4Writer, DMACommand

from .streams import StreamSink, StreamSource, make_rng, pack, reset, start_clock

ADDR_WIDTH, DATA_WIDTH = 20, 64
MEM = 1 << ADDR_WIDTH
BPB = DATA_WIDTH // 8


class DMAPair(wiring.Component):
    """Test harness: a reader and a writer sharing one AXI4 port."""

    def __init__(self):
        self.reader = AXI4Reader(addr_width=ADDR_WIDTH, data_width=DATA_WIDTH)
        self.writer = AXI4Writer(addr_width=ADDR_WIDTH, data_width=DATA_WIDTH)
        members = {"axi": Out(AXI4(addr_width=ADDR_WIDTH, data_width=DATA_WIDTH)), "error": Out(1)}
        for name in ("cmd", "data"):
            members[f"rd_{name}"] = self.reader.signature.members[name]
            members[f"wr_{name}"] = self.writer.signature.members[name]
        members["wr_done"] = self.writer.signature.members["done"]
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.reader = self.reader
        m.submodules.writer = self.writer
        join_read_write(m, self.axi, self.reader.axi, self.writer.axi)
        wiring.connect(m, wiring.flipped(self.rd_cmd), self.reader.cmd)
        wiring.connect(m, wiring.flipped(self.rd_data), self.reader.data)
        wiring.connect(m, wiring.flipped(self.wr_cmd), self.writer.cmd)
        wiring.connect(m, wiring.flipped(self.wr_data), self.writer.data)
        wiring.connect(m, wiring.flipped(self.wr_done), self.writer.done)
        m.d.comb += self.error.eq(self.reader.error)
        return m


def _pauses(rng, p):
    return (rng.random() < p for _ in itertools.count())


def _commands(rng, n):
    cmds = [(4096 - 2 * BPB, 5), (0, 1), (8192 - BPB, 600), (MEM - 300 * BPB, 300)]
    while len(cmds) < n:
        beats = rng.choice([1, 2, 3, 7, 8, 31, 64, 255, 256, 257, 513])
        addr = rng.randrange(0, MEM - beats * BPB) // BPB * BPB
        cmds.append((addr, beats))
    return cmds


class _Env:
    """The RAM model and a driver on every stream port (so no input is ever left undriven)."""

    def __init__(self, dut, rng, pause):
        self.ram = AxiRam(AxiBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=MEM)
        if pause:
            for ch in (self.ram.read_if.ar_channel, self.ram.read_if.r_channel,
                       self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                       self.ram.write_if.b_channel):
                ch.set_pause_generator(_pauses(rng, pause))
        self.rd_cmd = StreamSource(dut, "rd_cmd", rng, gap=pause)
        self.rd_data = StreamSink(dut, "rd_data", rng, backpressure=pause)
        self.wr_cmd = StreamSource(dut, "wr_cmd", rng, gap=pause)
        self.wr_data = StreamSource(dut, "wr_data", rng, gap=pause)
        self.wr_done = StreamSink(dut, "wr_done", rng, backpressure=pause)


async def _setup(dut, pause):
    await start_clock(dut)
    rng = make_rng(dut._log)
    env = _Env(dut, rng, pause)
    await reset(dut)
    return env, rng


@cocotb.parametrize(pause=[0.0, 0.4])
async def reader_streams_memory(dut, pause):
    """Random bursts (4 KiB crossings, > 256 beats, 1 beat) read back word for word, `last` on each command's end."""
    env, rng = await _setup(dut, pause)
    ram, src, sink = env.ram, env.rd_cmd, env.rd_data
    ram.write(0, bytes(rng.getrandbits(8) for _ in range(MEM)))
    layout = DMACommand(ADDR_WIDTH)
    cmds = _commands(rng, 12)
    src.send_all(pack(layout, {"addr": a, "beats": b}) for a, b in cmds)
    src.send(pack(layout, {"addr": 0, "beats": 0}))  # ignored
    for addr, beats in cmds:
        words = await sink.get(beats, timeout=50000)
        for i, w in enumerate(words):
            word, last = w & ((1 << DATA_WIDTH) - 1), w >> DATA_WIDTH
            want = int.from_bytes(ram.read(addr + i * BPB, BPB), "little")
            assert word == want, f"cmd {addr:#x}+{beats}: beat {i} = {word:#x}, memory {want:#x}"
            assert last == (i == beats - 1), f"cmd {addr:#x}+{beats}: last wrong at beat {i}"
    for _ in range(50):
        await RisingEdge(dut.clk)
    assert not sink.items, "extra words after the commands"
    assert int(dut.error.value) == 0


@cocotb.parametrize(pause=[0.0, 0.4])
async def writer_fills_memory(dut, pause):
    env, rng = await _setup(dut, pause)
    ram, cmd_src, data_src, done = env.ram, env.wr_cmd, env.wr_data, env.wr_done
    layout = DMACommand(ADDR_WIDTH)
    cmds = _commands(rng, 10)
    expect = {}
    for addr, beats in cmds:
        # later commands may overlap earlier ones: remember the final content per word
        words = [rng.getrandbits(DATA_WIDTH) for _ in range(beats)]
        for i, w in enumerate(words):
            expect[addr + i * BPB] = w
        cmd_src.send(pack(layout, {"addr": addr, "beats": beats}))
        data_src.send_all(words)
    flags = await done.get(len(cmds), timeout=100000)
    assert flags == [0] * len(cmds)
    for a, w in expect.items():
        got = int.from_bytes(ram.read(a, BPB), "little")
        assert got == w, f"word at {a:#x} = {got:#x}, wrote {w:#x}"
    assert data_src.idle
