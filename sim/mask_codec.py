"""cocotb testbench of the mask packer and unpacker against `lapa.memlayout`'s bit packing."""

import cocotb
import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from cocotb.triggers import FallingEdge

from lapa.memlayout import MemoryLayout
from rtl.execution.kv_control import kv_request_layout
from rtl.common.mask_codec import MaskPacker, MaskUnpacker
from rtl.common.resize import word_layout

from .streams import make_rng, pack, reset, start_clock, stream_pairs, unpack

MAX_LEN, W = 130, 64
IDX = (MAX_LEN - 1).bit_length()


class MaskCodecPair(wiring.Component):
    """Harness: a packer and an unpacker side by side (independent streams)."""

    def __init__(self):
        self.packer = MaskPacker(max_seq_len=MAX_LEN, word_width=W)
        self.unpacker = MaskUnpacker(max_seq_len=MAX_LEN, word_width=W)
        members = {"seq_len": self.packer.signature.members["seq_len"],
                   "pk_i": self.packer.signature.members["i"], "pk_o": self.packer.signature.members["o"],
                   "up_i": self.unpacker.signature.members["i"], "up_o": self.unpacker.signature.members["o"]}
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.packer, m.submodules.unpacker = self.packer, self.unpacker
        m.d.comb += self.packer.seq_len.eq(self.seq_len)
        for ours, theirs in (("pk_i", self.packer.i), ("pk_o", self.packer.o),
                             ("up_i", self.unpacker.i), ("up_o", self.unpacker.o)):
            wiring.connect(m, wiring.flipped(getattr(self, ours)), theirs)
        return m


def random_mask(rng, L):
    mask = np.zeros((L, L), bool)
    for t in range(L):
        kind = rng.random()
        if kind < 0.15:
            mask[t, rng.randrange(L)] = True          # a single key
        elif kind < 0.25:
            mask[t, :] = True                        # every key
        elif kind < 0.35:
            mask[t, L - 1] = True                    # only the final key
        else:
            mask[t] = [rng.random() < 0.2 for _ in range(L)]
            mask[t, rng.randrange(L)] = True
    return mask


@cocotb.parametrize(stall=[0.0, 0.5])
async def pack_and_unpack(dut, stall):
    await start_clock(dut)
    rng = make_rng(dut._log)
    (pk_src, pk_snk), (up_src, up_snk) = stream_pairs(dut, rng, ("pk", "up"), stall)
    dut.seq_len.value = 1
    await reset(dut)
    req = kv_request_layout(IDX)
    for L in (1, 5, 63, 64, 65, 128, MAX_LEN):
        await FallingEdge(dut.clk)
        dut.seq_len.value = L
        mask = random_mask(rng, L)
        nw = (L + W - 1) // W
        packed = MemoryLayout.pack_bits(mask)                      # [L, ceil(L/8)] bytes
        padded = np.zeros((L, nw * 8), np.uint8)
        padded[:, :packed.shape[1]] = packed
        words = padded.view("<u8").astype(object)                  # [L, nw] 64-bit words
        for t in range(L):
            keys = np.flatnonzero(mask[t])
            pk_src.send_all(pack(req, {"key": int(s), "last": int(s == keys[-1])}) for s in keys)
            up_src.send_all(pack(word_layout(W), {"data": int(w), "last": int(j == nw - 1)})
                            for j, w in enumerate(words[t]))
        got_words = [unpack(word_layout(W), b) for b in await pk_snk.get(L * nw)]
        for n, g in enumerate(got_words):
            t, j = divmod(n, nw)
            assert g.data == int(words[t, j]) and g.last == (j == nw - 1), f"L={L} row {t} word {j}"
        got_keys = [unpack(req, b) for b in await up_snk.get(int(mask.sum()))]
        n = 0
        for t in range(L):
            keys = np.flatnonzero(mask[t])
            for s in keys:
                assert (got_keys[n].key, got_keys[n].last) == (s, int(s == keys[-1])), f"L={L} row {t}"
                n += 1
        assert not pk_snk.items and not up_snk.items
