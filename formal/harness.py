"""The formal wrapper every property family builds on.

`Harness(dut)` is a `wiring.Component` with the block's own signature: each port of the wrapper
drives (or is driven by) the same port of the block, so the wrapper's ports are the proof's free
inputs and Amaranth names them as in the block. Properties are added by `elaborate_props(m, dut)`
in a subclass, with plain `Assert` / `Assume` statements in the comb domain, looking one cycle
back through `past()` registers.

Reset: the sync domain's `rst` is a free input too. `armed` is 1 once a clock edge has passed
with `rst` low, so a property that looks at the previous cycle checks only cycles whose previous
cycle was not a reset (a reset may drop a valid, as AXI4 and Amaranth streams allow).

`channels(dut)` lists every valid/ready channel of a block: each `lib.stream` port (at any
depth of the signature) and each channel of an AXI4 / AXI4-Lite port, with the side the block
is on (producer or consumer) and the payload signals.
"""

from __future__ import annotations

from typing import NamedTuple

from amaranth.hdl import Assert, Assume, Cat, Cover, Elaboratable, Module, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.axi import AXI4, AXI4Lite

__all__ = ["Harness", "StreamRules", "Channel", "channels", "past", "hold_rule", "probe", "named"]


class Channel(NamedTuple):
    """A valid/ready channel: `name`, whether the block `produces` it, its signals."""

    name: str
    produces: bool
    valid: Value
    ready: Value
    payload: Value


def _axi_channels(prefix, sig, intf, dut_is_master):
    """The five channels of an AXI port; the master produces AW, W, AR and consumes B, R."""
    out = []
    for ch, by_master in (("aw", True), ("w", True), ("b", False), ("ar", True), ("r", False)):
        payload = [getattr(intf, n) for n in sig.members
                   if n.startswith(ch) and n not in (f"{ch}valid", f"{ch}ready")]
        out.append(Channel(f"{prefix}.{ch}", by_master == dut_is_master, getattr(intf, f"{ch}valid"),
                           getattr(intf, f"{ch}ready"), Cat(*payload)))
    return out


def channels(dut, sig=None, intf=None, prefix="", flipped=False) -> list[Channel]:
    """Every stream and AXI channel of `dut`'s signature."""
    sig = dut.signature if sig is None else sig
    intf = dut if intf is None else intf
    found = []
    for name, member in sig.members.items():
        if not member.is_signature:
            continue
        out = (member.flow == Out) != flipped
        sub, path = member.signature, f"{prefix}{name}"
        port = getattr(intf, name)
        inner = sub.flip() if isinstance(sub, wiring.FlippedSignature) else sub
        if isinstance(inner, stream.Signature):
            found.append(Channel(path, out, port.valid, port.ready, Value.cast(port.payload)))
        elif isinstance(inner, (AXI4, AXI4Lite)):
            found += _axi_channels(path, inner, port, out)
        else:
            found += channels(dut, sub, port, path + ".", not out)
    return found


def probe(component):
    """A block built only to look at its signature: no 'created but never used' warning for it
    or the sub-blocks its constructor made."""
    component._MustUse__silence = True
    for value in vars(component).values():
        if isinstance(value, Elaboratable) and not getattr(value, "_MustUse__silence", False):
            probe(value)
    return component


def named(module, name):
    """The signal called `name` driven in the elaborated `module` (a white-box invariant's
    register; a rename in the block fails here by name)."""
    found = [s for s in module._driving.keys() if s.name == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} signals named {name!r}")
    return found[0]


def past(m, value, name=None):
    """`value` one cycle ago (a register; its reset value before the first edge)."""
    value = Value.cast(value)
    reg = Signal(len(value), name=name)
    m.d.sync += reg.eq(value)
    return reg


def hold_rule(m, ch: Channel, armed):
    """Once valid and not taken, the next cycle has valid still high and the same payload."""
    was_held = past(m, ch.valid & ~ch.ready)
    was_payload = past(m, ch.payload)
    return ~armed | ~was_held | (ch.valid & (ch.payload == was_payload))


class Harness(wiring.Component):
    """The block `dut` with its ports passed through; subclasses add properties."""

    def __init__(self, dut):
        self.dut = dut
        super().__init__(dict(dut.signature.members))

    def elaborate(self, platform):
        m = Module()
        dut = self.dut
        # the block's own Module, so internal registers can be named in invariants (`internal`)
        self.body = dut.elaborate(platform)
        dut._MustUse__silence = True
        m.submodules.dut = self.body
        for path, member, value in dut.signature.flatten(dut):
            mine = self
            for part in path:
                mine = mine[part] if isinstance(part, int) else getattr(mine, part)
            if member.flow == In:
                m.d.comb += value.eq(mine)
            else:
                m.d.comb += mine.eq(value)
        self.armed = Signal()
        m.d.sync += self.armed.eq(1)
        self.elaborate_props(m, dut)
        return m

    def elaborate_props(self, m, dut):
        raise NotImplementedError

    def _scope(self):
        if "_top_scope" not in self.__dict__:
            self._top_scope = Scope(self.body, type(self.dut).__name__)
        return self._top_scope

    def submodule(self, name):
        """The block's submodule called `name` (an Elaboratable: a Memory, a sub-block; the
        object itself even after `elaborated(name)`)."""
        return self._scope().submodule(name)

    def elaborated(self, name):
        """The Module of the block's submodule `name`, elaborated here in its place (the same
        hardware), so white-box invariants can name its registers and its own submodules."""
        return self._scope().elaborated(name)

    def internal(self, name):
        """The block's register or signal called `name` (driven in its top Module): white-box
        invariants need it for an induction proof; a rename in the block fails here by name."""
        return self._scope().internal(name)

    def scope(self, name):
        """The same white-box accessors inside the block's component `name` (elaborated in
        place): invariants of a block composed of components."""
        return self._scope().scope(name)


class Scope:
    """White-box access to an elaborated Module `body`: its submodules (elaborated in their place
    on request, so the hardware is the same), their registers by name."""

    def __init__(self, body, owner):
        self.body, self.owner = body, owner
        self._elaborated, self._originals = {}, {}

    def submodule(self, name):
        return self._originals[name] if name in self._originals else self.body._named_submodules[name][0]

    def elaborated(self, name):
        if name not in self._elaborated:
            sub, loc = self.body._named_submodules[name]
            self._originals[name] = sub
            self._elaborated[name] = sub.elaborate(None)
            sub._MustUse__silence = True
            self.body._named_submodules[name] = (self._elaborated[name], loc)
        return self._elaborated[name]

    def internal(self, name):
        try:
            return named(self.body, name)
        except LookupError as e:
            raise LookupError(f"{self.owner}: {e}") from None

    def scope(self, name):
        return Scope(self.elaborated(name), f"{self.owner}.{name}")


class StreamRules(Harness):
    """Every channel the block produces holds valid until ready with its payload stable,
    assuming every channel it consumes is driven by the same rule. `stable` names job-level
    inputs assumed constant (registers the top level latches at START); all others are free
    every cycle."""

    def __init__(self, dut, stable=(), cover=False, never=(), sources=None, invariants=None, stable_when=None,
                 facts=None, env=None):
        # `sources`: {channel: f(harness) -> Value}, the registers a channel's payload is a pure
        # combinational function of; holding them holds the payload (used where the function is
        # a multiplier the solver cannot see through twice). `invariants`: f(harness) -> {text:
        # condition}, facts of reachable states, asserted too, that let k-induction close.
        self.sources = dict(sources or {})
        self.invariants = invariants
        self.stable = tuple(stable)
        # `stable_when`: "busy", the cycles `stable` applies to: those the block is busy, or was
        # busy or had an output beat pending one cycle ago (the contract of a unit's runtime
        # configuration: held while it works, changed only between jobs); None: every cycle
        self.stable_when = stable_when
        # `facts`: f(harness) -> {text: condition}, facts of reachable states that the proof assumes
        # and does not prove (each named in the catalog's ASSUMED with why)
        self.facts = facts
        # `env`: f(harness) -> {text: condition}, the environment's contract on the inputs, assumed
        # in the cycles `stable` applies to (e.g. a legal configuration while busy)
        self.env = env
        self.cover = cover
        self.never = tuple(never)     # channels left out of the covers (not reached / never driven)
        super().__init__(dut)

    def elaborate_props(self, m, dut):
        self.m = m        # invariants and facts may add ghost registers (e.g. formal.ddf.ddf_list_checks)
        when = Value.cast(1)
        if self.stable_when == "busy":
            pending = Cat(*(ch.valid for ch in channels(dut) if ch.produces)).any()
            when = dut.busy | past(m, dut.busy | pending)
        elif self.stable_when is not None:
            raise ValueError(f"stable_when = {self.stable_when!r}: None or 'busy'")
        for name in self.stable:
            value = Value.cast(getattr(dut, name))
            m.d.comb += Assume(~self.armed | ~when | (value == past(m, value)), f"{name} stable")
        if self.env:
            for text, holds in self.env(self).items():
                m.d.comb += Assume(~when | holds, f"environment: {text}")
        if self.invariants:
            for text, holds in self.invariants(self).items():
                m.d.comb += Assert(holds, text)
        if self.facts:
            for text, holds in self.facts(self).items():
                m.d.comb += Assume(holds, f"assumed: {text}")
        self.checked = []
        for ch in channels(dut):
            if ch.name in self.sources:
                ch = ch._replace(payload=Value.cast(self.sources[ch.name](self)))
            rule = hold_rule(m, ch, self.armed)
            m.d.comb += (Assert(rule, ch.name) if ch.produces else Assume(rule, ch.name))
            if ch.produces:
                self.checked.append(ch.name)
                if self.cover and ch.name not in self.never:   # a stall the hold rule applies to: reachable within the depth?
                    m.d.comb += Cover(self.armed & past(m, ch.valid & ~ch.ready), ch.name)
