"""cocotb testbench of the round-robin stream arbiter against a cycle model, three arbiters at once.

The bench (`tests/test_rtl_stream_arbiter.py`) holds `a` (3 inputs), `b` (4 inputs, packet mode:
the testbench releases the grant a random number of cycles after each transfer) and `c` (1 input).
Every cycle a model predicts `o.valid`, `grant` and, on a transfer, the payload (the first valid
input at or after the pointer, the pointer then just past it); at the end every beat arrived once,
in its source's order, and no waiting input saw more than n - 1 transfers of the others.
"""

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from .streams import StreamSink, StreamSource, make_rng, reset, start_clock

ARBITERS = {"a": (3, False), "b": (4, True), "c": (1, False)}   # name: (inputs, packet mode)
WIDTH = 12                                                     # payload: source << 10 | sequence
PER_SOURCE = 150


class Model:
    """The arbiter's state as the testbench sees it, checked every cycle."""

    def __init__(self, dut, name, n, hold, rng):
        self.dut, self.name, self.n, self.hold, self.rng = dut, name, n, hold, rng
        self.turn, self.locked, self.held, self.release_in = 0, False, 0, 0
        self.waited = [0] * n                  # transfers of others while input k was valid
        self.worst = 0

    def sig(self, member):
        return getattr(self.dut, f"{self.name}__{member}")

    def check(self):
        v = [int(self.sig(f"i__{k}__valid").value) for k in range(self.n)]
        pick = next(((self.turn + off) % self.n for off in range(self.n) if v[(self.turn + off) % self.n]), None)
        valid = int(self.sig("o__valid").value)
        tag = f"{self.name}: turn {self.turn} valids {v} locked {self.locked}"
        assert valid == int(pick is not None and not self.locked), f"{tag}: o.valid {valid}"
        if self.n > 1 and (self.locked or pick is not None):
            grant = int(self.sig("grant").value)
            assert grant == (self.held if self.locked else pick), f"{tag}: grant {grant}"
        if self.hold:
            assert int(self.sig("locked").value) == int(self.locked), f"{tag}: locked"
        fire = valid and int(self.sig("o__ready").value)
        if fire:
            got, want = int(self.sig("o__payload").value), int(self.sig(f"i__{pick}__payload").value)
            assert got == want, f"{tag}: o.payload {got:#x}, input {pick} offers {want:#x}"
            for k in range(self.n):
                self.waited[k] = 0 if k == pick else self.waited[k] + v[k]
                self.worst = max(self.worst, self.waited[k] if v[k] else 0)
            self.turn = (pick + 1) % self.n
        release = self.hold and int(self.sig("release").value)
        if release and self.locked:
            self.locked = False
        elif fire and self.hold:
            self.locked, self.held = True, pick
            self.release_in = self.rng.choice([0, 0, 1, 3])

    def drive(self):
        """After a falling edge: the packet-mode release, some cycles after the lock."""
        if not self.hold:
            return
        go = self.locked and self.release_in == 0
        self.sig("release").value = int(go or self.rng.random() < 0.05)   # stray pulses must not unlock early
        if self.locked and self.release_in:
            self.release_in -= 1


@cocotb.parametrize(gap=[0.0, 0.5], backpressure=[0.0, 0.5])
async def arbiter_matches_model(dut, gap, backpressure):
    await start_clock(dut)
    rng = make_rng(dut._log)
    models, sources, sinks = [], {}, {}
    for name, (n, hold) in ARBITERS.items():
        models.append(Model(dut, name, n, hold, rng))
        if hold:
            getattr(dut, f"{name}__release").value = 0
        sources[name] = [StreamSource(dut, f"{name}__i__{k}", rng, gap=gap) for k in range(n)]
        sinks[name] = StreamSink(dut, f"{name}__o", rng, backpressure=backpressure)
    await reset(dut)
    for name, srcs in sources.items():
        for k, src in enumerate(srcs):
            src.send_all((k << 10) | s for s in range(PER_SOURCE))
    for _ in range(20000):
        await FallingEdge(dut.clk)
        for mdl in models:
            mdl.drive()
        await ReadOnly()
        for mdl in models:
            mdl.check()
        if all(len(sinks[name].items) == ARBITERS[name][0] * PER_SOURCE for name in ARBITERS):
            break
    else:
        raise TimeoutError({name: len(s.items) for name, s in sinks.items()})
    for mdl in models:
        got = list(sinks[mdl.name].items)
        for k in range(mdl.n):
            mine = [b & 0x3FF for b in got if b >> 10 == k]
            assert mine == list(range(PER_SOURCE)), f"{mdl.name}: input {k} lost, repeated or reordered beats"
        assert mdl.worst <= mdl.n - 1, f"{mdl.name}: an input waited {mdl.worst} transfers (n = {mdl.n})"
        dut._log.info("%s: worst wait %d transfers", mdl.name, mdl.worst)
