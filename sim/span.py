"""cocotb testbench of the row span source: rows in, whole spans out, never waiting on the producer.

A consumer plays the write-back: it takes a span request (address, word count) with random
back-pressure, then that many words. Each request must match the next row sent (its address,
its length, its words), and once a request is taken every word of the span must be there when
asked for: a granted span never waits on its producer, whatever the producer's gaps.
"""

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from rtl.soc.dma import DMACommand
from rtl.common.resize import word_layout

from .streams import StreamSource, make_rng, pack, reset, start_clock, unpack

ADDR_WIDTH, DATA_WIDTH, MAX_ROW_WORDS, ROWS = 20, 64, 5, 2


async def _consume(dut, rng, stall, spans):
    """Take requests and their words like `WriteBack` does; append (addr, beats, words)."""
    layout = DMACommand(ADDR_WIDTH)
    while True:
        await FallingEdge(dut.clk)
        take = rng.random() >= stall
        dut.req__ready.value = int(take)
        dut.data__ready.value = 0
        await ReadOnly()
        if not (take and int(dut.req__valid.value)):
            continue
        cmd = unpack(layout, int(dut.req__payload.value))
        addr, beats, words = int(cmd.addr), int(cmd.beats), []
        while len(words) < beats:
            await FallingEdge(dut.clk)
            dut.req__ready.value = 0
            want = rng.random() >= stall
            dut.data__ready.value = int(want)
            await ReadOnly()
            if want:
                assert int(dut.data__valid.value), \
                    f"span at {addr:#x}: word {len(words)} of {beats} not buffered after the request was taken"
                words.append(int(dut.data__payload.value))
        spans.append((addr, beats, words))


@cocotb.test()
@cocotb.parametrize(stall=[0.0, 0.5])
async def rows_become_spans(dut, stall):
    """Rows of 1 .. max_row_words words (full-length rows back to back, single-word rows),
    addresses sent before, with or after their words, producer gaps and consumer stalls."""
    await start_clock(dut)
    rng = make_rng(dut._log)
    words_in = StreamSource(dut, "i", rng, gap=stall)
    addrs_in = StreamSource(dut, "addr", rng, gap=stall)
    spans = []
    dut.req__ready.value = 0
    dut.data__ready.value = 0
    await reset(dut)
    consumer = cocotb.start_soon(_consume(dut, rng, stall, spans))
    lengths = [MAX_ROW_WORDS] * 4 + [1] * 4 + [rng.randint(1, MAX_ROW_WORDS) for _ in range(40)]
    sent = []
    for n in lengths:
        row = [rng.getrandbits(DATA_WIDTH) for _ in range(n)]
        addr = rng.randrange(1 << ADDR_WIDTH) & ~7
        sent.append((addr, n, row))
        words_in.send_all(pack(word_layout(DATA_WIDTH), {"data": w, "last": int(j == n - 1)}) for j, w in enumerate(row))
        addrs_in.send(addr)
    for _ in range(100 * sum(lengths)):
        await RisingEdge(dut.clk)
        if len(spans) == len(sent):
            break
    consumer.cancel()
    assert len(spans) == len(sent), f"{len(spans)} spans requested, {len(sent)} rows sent"
    for j, (got, want) in enumerate(zip(spans, sent)):
        assert got == want, f"span {j}: got (addr, beats, words) {got}, sent {want}"
