"""cocotb testbench of StreamResize: widening and narrowing, random gaps and back-pressure."""

import cocotb
from amaranth.hdl import Module
from amaranth.lib import wiring

from rtl.common.resize import StreamResize, word_layout

from .streams import make_rng, pack, reset, start_clock, stream_pairs, unpack

WORD, WIDE, NARROW = 64, 192, 16


class ResizePair(wiring.Component):
    """Harness: a widening (WORD -> WIDE), a narrowing (WORD -> NARROW) and a padding widening
    (NARROW -> WORD, `pad_last`) converter side by side."""

    SIDES = ("up", "down", "pad")

    def __init__(self):
        self.up = StreamResize(in_width=WORD, out_width=WIDE)
        self.down = StreamResize(in_width=WORD, out_width=NARROW)
        self.pad = StreamResize(in_width=NARROW, out_width=WORD, pad_last=True)
        super().__init__({f"{side}_{p}": getattr(self, side).signature.members[p]
                          for side in self.SIDES for p in ("i", "o")})

    def elaborate(self, platform):
        m = Module()
        m.submodules.up, m.submodules.down, m.submodules.pad = self.up, self.down, self.pad
        for side in self.SIDES:
            conv = getattr(self, side)
            wiring.connect(m, wiring.flipped(getattr(self, f"{side}_i")), conv.i)
            wiring.connect(m, wiring.flipped(getattr(self, f"{side}_o")), conv.o)
        return m


@cocotb.parametrize(stall=[0.0, 0.5])
async def widen_and_narrow(dut, stall):
    await start_clock(dut)
    rng = make_rng(dut._log)
    (up_src, up_sink), (down_src, down_sink), (pad_src, pad_sink) = stream_pairs(dut, rng, ResizePair.SIDES, stall)
    await reset(dut)
    k_up, k_down = WIDE // WORD, WORD // NARROW
    words = [rng.getrandbits(WORD) for _ in range(k_up * 200)]
    up_last = [(i % k_up == k_up - 1) and rng.random() < 0.3 for i in range(len(words))]
    down_last = [rng.random() < 0.2 for _ in words]
    up_src.send_all(pack(word_layout(WORD), {"data": w, "last": l}) for w, l in zip(words, up_last))
    down_src.send_all(pack(word_layout(WORD), {"data": w, "last": l}) for w, l in zip(words, down_last))
    got_up = [unpack(word_layout(WIDE), b) for b in await up_sink.get(len(words) // k_up)]
    for n, beat in enumerate(got_up):
        want = sum(words[n * k_up + p] << (p * WORD) for p in range(k_up))
        assert beat.data == want, f"wide beat {n}"
        assert beat.last == up_last[n * k_up + k_up - 1], f"wide beat {n} last"
    got_down = [unpack(word_layout(NARROW), b) for b in await down_sink.get(len(words) * k_down)]
    for n, beat in enumerate(got_down):
        w, p = divmod(n, k_down)
        assert beat.data == (words[w] >> (p * NARROW)) & ((1 << NARROW) - 1), f"narrow beat {n}"
        assert beat.last == (down_last[w] and p == k_down - 1), f"narrow beat {n} last"
    assert not up_sink.items and not down_sink.items

    # padding: rows of 1..9 narrow values; each row ends its last word early, the rest zero
    rows = [[rng.getrandbits(NARROW) for _ in range(rng.randint(1, 9))] for _ in range(60)]
    pad_src.send_all(pack(word_layout(NARROW), {"data": v, "last": int(i == len(r) - 1)})
                     for r in rows for i, v in enumerate(r))
    k = WORD // NARROW
    want = [(sum(v << (NARROW * p) for p, v in enumerate(r[w:w + k])), int(w + k >= len(r)))
            for r in rows for w in range(0, len(r), k)]
    got = [unpack(word_layout(WORD), b) for b in await pad_sink.get(len(want))]
    assert [(g.data, g.last) for g in got] == want, "padded widening"
    assert not pad_sink.items
