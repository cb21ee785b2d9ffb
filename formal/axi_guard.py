"""The bus guard (rtl/soc/axi_guard.py) keeps AXI4's rules on both of its sides, faults included.

`AXIGuardRules(guard)`: k-induction over the guard alone, its two AXI4 ports and `limit` free.
Environment:
- the memory (`bus`, a slave): R and B hold valid until ready with a stable payload; R beats
  only for an accepted AR, `rlast` on beat `arlen + 1`; B only after a burst's last W beat;
- the core (`core`, the accelerator's masters of rtl/soc/dma.py, the properties
  `axi_axi4reader_*` / `axi_axi4writer_*` prove of them): AR, AW and W keep the hold rule, the
  fixed fields (id, size, burst, lock, cache, prot) are constant, W beats only for an accepted
  AW with `wlast` on beat `awlen + 1`, one burst in flight per direction;
- the core's reset: the guard's `fault` output. The top level resets the core in every cycle
  `fault` is high (`CoreResetOnFault` proves it of rtl/top.py), so the core's registers after
  such a cycle are their reset values: its hold rule and its view of what is outstanding
  start again there, and what the guard shows the core in that cycle is never acted on.
Proved:
- memory side: AR, AW, W hold valid until ready with the payload stable, drain included; W beats
  only for an accepted AW, `wlast` exactly on beat `awlen + 1`; one burst per direction;
- core side: R and B hold valid until ready with the payload stable, except in a cycle in which
  the core is reset (`fault`: the guard withdraws a pending response there, by design); R only
  for the core's accepted AR with `rlast` on its beat `arlen + 1`, B only after its burst's
  last W beat: after a drain the core never sees a stale response;
- induction invariants (asserted, so proved too): the guard's `*_held` flags, latched payloads
  and outstanding counts agree with the bus history, and the core's view agrees with the
  memory's while connected and is empty (reset) while the guard drains.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Assume, Cat, Cover, Mux, Signal

from .harness import Harness, channels, past

__all__ = ["AXIGuardRules", "CoreResetOnFault", "TopAXILinks", "FIXED"]

FIXED = ("id", "size", "burst", "lock", "cache", "prot")   # the fixed fields of AR / AW


class _Side:
    """What one AXI4 port has outstanding, counted on its handshakes (cleared by `clear`)."""

    def __init__(self, m, bus, clear, name):
        self.r_open, self.w_open, self.b_owed = (Signal(name=f"{name}_{n}") for n in ("r_open", "w_open", "b_owed"))
        self.r_beats, self.w_beats = Signal(9, name=f"{name}_r_beats"), Signal(9, name=f"{name}_w_beats")
        self.r_len, self.w_len = Signal(8, name=f"{name}_r_len"), Signal(8, name=f"{name}_w_len")
        hs = lambda ch: getattr(bus, f"{ch}valid") & getattr(bus, f"{ch}ready")
        self.hs = {ch: hs(ch) for ch in ("ar", "r", "aw", "w", "b")}
        with m.If(self.hs["ar"]):
            m.d.sync += [self.r_open.eq(1), self.r_beats.eq(0), self.r_len.eq(bus.arlen)]
        with m.If(self.hs["r"]):
            m.d.sync += self.r_beats.eq(self.r_beats + 1)
            with m.If(bus.rlast):
                m.d.sync += self.r_open.eq(0)
        with m.If(self.hs["aw"]):
            m.d.sync += [self.w_open.eq(1), self.w_beats.eq(0), self.w_len.eq(bus.awlen)]
        with m.If(self.hs["w"]):
            m.d.sync += self.w_beats.eq(self.w_beats + 1)
            with m.If(bus.wlast):
                m.d.sync += [self.w_open.eq(0), self.b_owed.eq(1)]
        with m.If(self.hs["b"]):
            m.d.sync += self.b_owed.eq(0)
        if clear is not None:
            with m.If(clear):
                m.d.sync += [self.r_open.eq(0), self.w_open.eq(0), self.b_owed.eq(0)]

    def rules(self, bus):
        """The AXI4 ordering rules of this port: (text, condition, whether the master keeps it)."""
        return [
            ("R only for an accepted AR", ~bus.rvalid | self.r_open, False),
            ("rlast on beat arlen + 1", ~bus.rvalid | (bus.rlast == (self.r_beats == self.r_len)), False),
            ("B only after a burst's last W beat", ~bus.bvalid | self.b_owed, False),
            ("W only for an accepted AW", ~bus.wvalid | self.w_open, True),
            ("wlast on beat awlen + 1", ~bus.wvalid | (bus.wlast == (self.w_beats == self.w_len)), True),
            ("a second read burst in flight", ~(bus.arvalid & self.r_open), True),
            ("a second write burst in flight", ~(bus.awvalid & (self.w_open | self.b_owed)), True),
        ]

    def empty(self):
        return ~self.r_open & ~self.w_open & ~self.b_owed

    def same(self, other):
        return ((self.r_open == other.r_open) & (self.w_open == other.w_open) & (self.b_owed == other.b_owed)
                & (~self.r_open | ((self.r_beats == other.r_beats) & (self.r_len == other.r_len)))
                & (~self.w_open | ((self.w_beats == other.w_beats) & (self.w_len == other.w_len))))


class AXIGuardRules(Harness):
    """The guard's AXI4 rules on `bus` and `core` under a core reset on `fault` (module docstring).
    `cover`: instead, the covers that show the environment lets the interesting cases happen."""

    def __init__(self, dut, cover=False):
        self.cover = cover
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        core, bus, armed = dut.core, dut.bus, self.armed
        fault = dut.fault
        was_fault = past(m, fault, name="was_fault")          # the core was reset at the last edge
        chans = {ch.name: ch for ch in channels(dut)}
        held = {}
        for name, ch in chans.items():
            was_held = past(m, ch.valid & ~ch.ready, name=f"{name.replace('.', '_')}_was_held")
            was_payload = past(m, ch.payload)
            holds = ~was_held | (ch.valid & (ch.payload == was_payload))
            side = name.split(".")[1]
            if name.startswith("bus."):
                held[side] = (was_held, was_payload)
                m.d.comb += (Assert if ch.produces else Assume)(~armed | holds, f"{name} hold rule")
            elif ch.produces:      # core.r, core.b: may drop only where the core is reset
                m.d.comb += Assert(~armed | fault | holds, f"{name} hold rule (but in a core reset)")
            else:                  # core.ar / aw / w: the core's hold rule, restarting at its reset
                m.d.comb += Assume(~armed | was_fault | holds, f"{name} hold rule")
        for p in ("ar", "aw"):
            fixed = Cat(*(getattr(core, p + f) for f in FIXED))
            m.d.comb += Assume(~armed | (fixed == past(m, fixed)), f"core.{p} fixed fields constant")

        mem = _Side(m, bus, None, "mem")
        mine = _Side(m, core, fault, "core")
        for text, cond, by_master in mem.rules(bus):
            m.d.comb += (Assert(cond, f"bus: {text}") if by_master else Assume(cond, f"bus: {text}"))
        for text, cond, by_master in mine.rules(core):
            m.d.comb += (Assume(cond, f"core: {text}") if by_master else Assert(cond, f"core: {text}"))

        # Induction invariants: the guard's state is what the bus history says.
        g = self.internal
        drain = dut.draining
        for p, fields in (("ar", ("addr", "len")), ("aw", ("addr", "len")), ("w", ("data", "strb", "last"))):
            was_held, was_payload = held[p]
            m.d.comb += Assert(g(f"{p}_held") == was_held, f"{p}_held = bus {p} stalled last cycle")
            copy = Cat(*(g(f"{p}{f}_copy") for f in fields))
            now = Cat(*(getattr(bus, p + f) for f in fields))
            m.d.comb += Assert(~armed | ~was_held | (copy == past(m, now)), f"{p} copy = the held payload")
        m.d.comb += [
            Assert(g("r_bursts") == mem.r_open, "r_bursts = read bursts open"),
            Assert(g("b_owed") == (mem.w_open | mem.b_owed), "b_owed = write responses owed"),
            Assert(g("w_owed") == Mux(mem.w_open, mem.w_len + 1 - mem.w_beats, 0), "w_owed = beats owed"),
            Assert(~(mem.w_open & mem.b_owed) & ~(mine.w_open & mine.b_owed), "one write burst at a time"),
            Assert(~mem.w_open | (mem.w_beats <= mem.w_len), "at most awlen + 1 beats"),
            Assert(~mem.r_open | (mem.r_beats <= mem.r_len), "at most arlen + 1 beats"),
            Assert(~mine.w_open | (mine.w_beats <= mine.w_len), "core: at most awlen + 1 beats"),
            Assert(~mine.r_open | (mine.r_beats <= mine.r_len), "core: at most arlen + 1 beats"),
            Assert(~fault | drain, "fault only as the drain begins"),
            Assert(~armed | drain | mine.same(mem), "connected: the core's view = the memory's"),
            Assert(~armed | ~drain | fault | mine.empty(), "draining: the core (reset) has nothing outstanding"),
            Assert(armed | (~drain & ~fault & mem.empty() & mine.empty()), "reset state"),
        ]
        if self.cover:
            was_drain = past(m, drain)
            for text, cond in (
                    ("a pending B withdrawn as the core is reset", fault & past(m, core.bvalid & ~core.bready)),
                    ("a pending R withdrawn as the core is reset", fault & past(m, core.rvalid & ~core.rready)),
                    ("a drain's own W beat stalled", past(m, drain & ~g("w_held") & bus.wvalid & ~bus.wready)),
                    ("a held read address finished by the drain", drain & bus.arvalid & bus.arready),
                    ("the drain ends", armed & was_drain & ~drain)):
                m.d.comb += Cover(cond, text)


class CoreResetOnFault(Harness):
    """rtl/top.py: in every cycle the guard's `fault` is high, the core (the module under the
    `ResetInserter` that holds the guard's masters) is reset. A combinational fact, proved for
    every state by k-induction of depth 1."""

    def elaborate_props(self, m, dut):
        core = self.submodule("core")
        controls = core._transforms_[0].controls if hasattr(core, "_transforms_") else {}
        if "sync" not in controls:
            raise LookupError(f"{type(dut).__name__}: submodule 'core' is not under a ResetInserter")
        guard = self.submodule("guard")
        m.d.comb += Assert(~guard.fault | controls["sync"], "guard.fault resets the core")


def _core_masters(h):
    """The AXI4Reader of the fetcher and the AXI4Writer of the result writer inside top's core."""
    core = h.submodule("core")
    inner = getattr(core, "_elaboratable_", core)
    fetcher = inner._named_submodules["fetcher"][0]
    results, loc = inner._named_submodules["results"]
    body = results.elaborate(None)          # elaborated here so its WriteBack can be named
    results._MustUse__silence = True
    inner._named_submodules["results"] = (body, loc)
    return fetcher.reader, body._named_submodules["writeback"][0].writer


class TopAXILinks(Harness):
    """rtl/top.py: the AXI4 master port is the guard's memory side, signal for signal, and the
    guard's core side is the fetcher's AXI4Reader (AR, R) and the result writer's AXI4Writer
    (AW, W, B), signal for signal (plain wiring through rtl.soc.axi.join_read_write, the fetcher,
    ResultWriter and WriteBack). With `axi_guard_rules`, `axi_axi4reader_64` / `axi_axi4writer_64`
    and `axi_guard_core_reset` this carries their hold rules to the top's port (compositional:
    each proof's environment is what the others prove). Combinational: k-induction of depth 1."""

    def elaborate_props(self, m, dut):
        guard = self.submodule("guard")
        reader, writer = _core_masters(self)
        for name, member in dut.axi.signature.members.items():
            m.d.comb += Assert(getattr(dut.axi, name) == getattr(guard.bus, name), f"axi.{name} = guard.bus.{name}")
            src = reader if name.startswith(("ar", "r")) else writer
            m.d.comb += Assert(getattr(guard.core, name) == getattr(src.axi, name),
                               f"guard.core.{name} = {type(src).__name__}.{name}")
