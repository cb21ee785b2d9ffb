"""Fault injection into cocotbext-axi's AxiRam: error responses, answers withheld, a refused address.

`FaultyRam(ram)` wraps the RAM model's channels (its own processes keep running unchanged) and
counts what it serves: read bursts and beats, write bursts and responses, each burst's address.
`arm(kind, at)` schedules one fault on the `at`-th item (0-based) from now on:
- "rresp": the at-th read beat answers `resp` (SLVERR or DECERR), its burst continues;
- "bresp": the at-th write response answers `resp`;
- "r_hold": the at-th read beat is withheld (the burst's address was taken) until `release()`;
- "b_hold": the at-th write response is withheld until `release()`;
- "ar_block": after the at-th read burst, no read address is taken any more (until `release()`);
- "rresp_hold": the first read beat from the at-th on that is not its burst's last answers `resp`,
  and the beat after it is withheld until `release()` (the master's drain has to wait).
`fired` holds (kind, burst address) once the fault happened, `fired_ns` when. A reset of the RAM model (it follows
`rst`) drops what it was serving, as an interconnect reset would.
"""

from cocotb.triggers import Event
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiResp

__all__ = ["FaultyRam", "AxiResp"]

KINDS = ("rresp", "bresp", "r_hold", "b_hold", "ar_block", "rresp_hold")


class FaultyRam:
    def __init__(self, ram):
        self.ram = ram
        rd, wr = ram.read_if, ram.write_if
        self.counts = {"ar": 0, "r": 0, "aw": 0, "b": 0}
        self.ar_addr = self.aw_addr = 0
        self.plan = None
        self.fired = None
        self.fired_ns = 0
        self.gate = Event()
        self.gate.set()
        self._wrap_recv(rd.ar_channel, "ar", "araddr")
        self._wrap_recv(wr.aw_channel, "aw", "awaddr")
        self._wrap_send(rd.r_channel, "r", "rresp", "r_hold", lambda: self.ar_addr)
        self._wrap_send(wr.b_channel, "b", "bresp", "b_hold", lambda: self.aw_addr)

    def arm(self, kind, at, resp=AxiResp.SLVERR):
        assert kind in KINDS, kind
        self.plan = (kind, self.counts["ar" if kind == "ar_block" else kind[0]] + at, resp)
        self.fired = None

    def _fire(self, kind, addr):
        self.fired, self.fired_ns = (kind, addr), int(get_sim_time("ns"))

    def release(self):
        """Let a withheld beat or response go, take read addresses again."""
        self.plan = None
        self.ram.read_if.ar_channel.pause = False
        self.gate.set()

    def _wrap_recv(self, channel, name, field):
        recv = channel.recv

        async def wrapped():
            item = await recv()
            setattr(self, f"{name}_addr", int(getattr(item, field)))
            n = self.counts[name]
            self.counts[name] += 1
            if self.plan and self.plan[0] == "ar_block" and name == "ar" and n == self.plan[1]:
                self._fire("ar_block", None)
                channel.pause = True
            return item
        channel.recv = wrapped

    def _wrap_send(self, channel, name, field, hold, addr):
        send = channel.send

        async def wrapped(item):
            n = self.counts[name]
            if self.plan and self.plan[0] == "rresp_hold" and name == "r":
                kind, at, resp = self.plan
                if self.fired:
                    self.plan = None
                    self.gate.clear()
                    await self.gate.wait()
                elif n >= at and not int(item.rlast):
                    self._fire(kind, addr())
                    item.rresp = resp
            elif self.plan and self.plan[1] == n and self.plan[0] in (f"{name}resp", hold):
                kind, _, resp = self.plan
                self._fire(kind, addr())
                if kind == hold:
                    self.gate.clear()
                    await self.gate.wait()
                else:
                    setattr(item, field, resp)
                self.plan = None
            self.counts[name] += 1
            await send(item)
        channel.send = wrapped

