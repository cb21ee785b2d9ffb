"""Round-robin stream arbiter: n input streams onto one output stream, no added latency.

Each cycle the output carries the first valid input at or after `turn` (wrapping around), and
`grant` names it; a transfer moves `turn` just past the granted input, so a waiting input is
served after at most n - 1 others. The choice is combinational (an input's beat goes out in the
cycle it is offered), `o.valid` never depends on `o.ready`, and a beat is never lost or repeated:
input k is ready exactly when it is granted and the output is ready.

Packet mode (`hold=True`): a transfer locks the grant (`locked` = 1, no further transfer, `grant`
keeps naming the input) until `release` is high in a locked cycle, so the owner of a transfer can be followed by
its data on another path (the write-back's span command, then the span's words).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.common.params import require_int

__all__ = ["StreamArbiter"]


class StreamArbiter(wiring.Component):
    """`n` streams of `shape` onto `o`, round robin (see module docstring)."""

    def __init__(self, shape, n, *, hold=False):
        require_int("n", n, 1)
        self.n, self.hold = n, hold
        members = {
            "i": In(stream.Signature(shape)).array(n),
            "o": Out(stream.Signature(shape)),
            "grant": Out(max(1, (n - 1).bit_length())),   # (one bit even for n = 1: no empty port)
        }
        if hold:
            members.update(release=In(1), locked=Out(1))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n = self.n
        turn = Signal(range(n))            # highest priority this cycle
        pick = Signal(range(n))            # the first valid input at or after `turn`
        for off in reversed(range(n)):     # the last assignment (smallest offset) wins
            k = turn + off
            cand = Mux(k >= n, k - n, k) if off else turn
            with m.If(self._valid(cand)):
                m.d.comb += pick.eq(cand)
        any_valid = 0
        for port in self.i:
            any_valid = any_valid | port.valid
        fire = self.o.valid & self.o.ready
        if self.hold:
            held = Signal(range(n))
            m.d.comb += self.grant.eq(Mux(self.locked, held, pick))
            with m.If(fire):
                m.d.sync += [self.locked.eq(1), held.eq(pick)]
            with m.If(self.release & self.locked):
                m.d.sync += self.locked.eq(0)
            m.d.comb += self.o.valid.eq(any_valid & ~self.locked)
        else:
            m.d.comb += [self.grant.eq(pick), self.o.valid.eq(any_valid)]
        with m.Switch(pick):
            for k, port in enumerate(self.i):
                with m.Case(k):
                    m.d.comb += [self.o.payload.eq(port.payload), port.ready.eq(self.o.ready & self.o.valid)]
        with m.If(fire):
            m.d.sync += turn.eq(Mux(pick == n - 1, 0, pick + 1))
        return m

    def _valid(self, k):
        """`valid` of input `k` (a signal)."""
        valid = 0
        for j, port in enumerate(self.i):
            valid = valid | ((k == j) & port.valid)
        return valid
