# amaranth: UnusedElaboratable=no
"""Verilog generation (`rtl.generate`): buffers without per-word initializers, the same netlist
as Amaranth's own conversion, combinational loops still refused, the two-process Yosys step
equal to one process, and one module name for the whole accelerator."""

import re

import pytest
from amaranth.back import rtlil
from amaranth.hdl import CombinationalCycle, Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

import rtl.generate as gen
from lapa.config import HardwareConfig, LapaConfig
from rtl.registry import blocks

SMALL = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=16, max_seq_len=32, n_heads=2, n_kv_heads=1,
                                     pea_lanes=8, peb_lanes=8, mac_rows=2, mac_cols=8, av_lanes=8))


class Memories(wiring.Component):
    """A zero-initialised RAM, a RAM with contents and a ROM behind one address."""

    addr: In(2)
    wdata: In(8)
    we: In(1)
    ram_zero: Out(8)
    ram_init: Out(8)
    rom: Out(8)

    def elaborate(self, platform):
        m = Module()
        mems = {"zbuf": [], "ibuf": [5, 6, 7, 8], "rtab": [0x11, 0x22, 0x33, 0x44]}
        for name, init in mems.items():
            m.submodules[name] = mem = memory.Memory(shape=8, depth=4, init=init)
            rd = mem.read_port()
            m.d.comb += rd.addr.eq(self.addr)
            if name != "rtab":
                wr = mem.write_port()
                m.d.comb += [wr.addr.eq(self.addr), wr.data.eq(self.wdata), wr.en.eq(self.we)]
            m.d.comb += getattr(self, {"zbuf": "ram_zero", "ibuf": "ram_init", "rtab": "rom"}[name]).eq(rd.data)
        return m


def test_zero_ram_has_no_initializer():
    text = gen.to_verilog(Memories(), "memories")
    assert not re.search(r"zbuf\w*\[\d+\]\s*=", text), "a zero-initialised RAM must not be written word by word"
    assert re.search(r"ibuf\w*\[\d+\]\s*=\s*8'h07", text), "a RAM with contents keeps them"
    assert re.search(r"rtab\w*\[\d+\]\s*=\s*8'h44", text), "a ROM keeps its contents"


class Loop(wiring.Component):
    a: In(1)
    y: Out(1)

    def elaborate(self, platform):
        m = Module()
        b, c = Signal(), Signal()
        m.d.comb += [b.eq(c ^ self.a), c.eq(b), self.y.eq(c)]
        return m


def test_combinational_loop_still_refused():
    with pytest.raises(CombinationalCycle) as ours:
        gen.to_verilog(Loop(), "loop")
    with pytest.raises(CombinationalCycle) as amaranths:
        rtlil.convert(Loop(), name="loop", emit_src=False)
    assert str(ours.value) == str(amaranths.value)
    assert rtlil.convert.__module__ == "amaranth.back.rtlil"     # patches are undone afterwards


def test_same_rtlil_as_amaranth(monkeypatch):
    """Only the zero RAM initializers differ from Amaranth's own conversion: the faster
    loop check and Value copies leave the netlist of the whole accelerator as it was."""
    name = "top"
    factory = blocks()[name].factory
    with gen._conversion():
        ours = rtlil.convert(factory(SMALL), name=name, emit_src=False)
    monkeypatch.setattr(rtlil.ModuleEmitter, "emit_memory", gen._emit_memory_unless_zero_ram)
    theirs = rtlil.convert(factory(SMALL), name=name, emit_src=False)
    assert ours == theirs


def _lines_by_module(verilog):
    """{module: sorted lines with Yosys's `_N_` names blanked}."""
    parts = re.split(r"(?m)^(?=module )", verilog)[1:]
    return {p.split("(", 1)[0]: sorted(re.sub(r"\b_\d+_\b", "_N_", p).splitlines()) for p in parts}


def test_two_yosys_processes_equal_one(monkeypatch):
    text = rtlil.convert(blocks()["top"].factory(SMALL), name="top", emit_src=False)
    monkeypatch.setattr(gen, "_SPLIT_BYTES", len(text) + 1)
    one = gen._yosys_verilog(text)
    monkeypatch.setattr(gen, "_SPLIT_BYTES", 0)
    two = gen._yosys_verilog(text)
    assert list(_lines_by_module(one)) == list(_lines_by_module(two))   # same modules, same order
    assert _lines_by_module(one) == _lines_by_module(two)


def test_top_module_named_like_its_block(tmp_path):
    """`build.py verilog --block top` and the RTL backend write the same module, byte for byte."""
    from lapa.cli import main

    name, text = gen.top_verilog(SMALL)
    assert name == gen.TOP_BLOCK == "top" and re.search(r"(?m)^module top\(", text)
    args = ["verilog", str(tmp_path), "--block", "top"]
    for field in ("d_model", "head_dim", "max_seq_len", "n_heads", "n_kv_heads", "pea_lanes", "peb_lanes",
                  "mac_rows", "mac_cols", "av_lanes"):
        args += [f"--{field.replace('_', '-')}", str(getattr(SMALL.hw, field))]
    assert main(args) == 0
    assert (tmp_path / "top.v").read_text() == text
