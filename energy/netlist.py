"""The pins of a mapped (Yosys `write_verilog -noattr -noexpr -simple-lhs`) netlist and the net
bit each one is connected to, with the hierarchy expanded from the top module.

`cell_pins(netlist_text, top, cells)` lists, for every instance of a liberty cell (`cells`), its
hierarchical instance path (OpenSTA's, `/`-separated), its pins and the net bit on each pin as
(scope, net, bit): the scope is the instance path of the module that declares the net, which is
how a simulator's VCD names it (`top.spec.pea`). Constants on a pin are None. Instances of other
modules of the netlist are descended into; instances of unknown modules (the LAPA_SRAM macros)
are listed apart with their connections, so their accesses can be counted.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Instance", "parse_modules", "cell_pins", "sram_instances"]

_IDENT = r"(?:\\\S+|[A-Za-z_][\w$]*)"
_INST = re.compile(rf"^\s*({_IDENT})\s*(?:#\((.*?)\)\s*)?({_IDENT})\s*\(\s*$"
                   r"(.*?)^\s*\);", re.M | re.S)
_CONN = re.compile(rf"\.({_IDENT})\s*\((.*?)\)\s*,?\s*$", re.M | re.S)
_MODULE = re.compile(rf"^module\s+({_IDENT})\s*\(.*?\);(.*?)^endmodule", re.M | re.S)
_WIRE = re.compile(r"^\s*(?:wire|input|output|inout)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?"
                   rf"({_IDENT})\s*;", re.M)


class Instance(NamedTuple):
    cell: str
    name: str
    params: str
    conns: dict   # pin -> expression text


def _clean(name):
    return name[1:] if name.startswith("\\") else name


def parse_modules(text):
    """{module name: (instances, {net: (lsb, width)})} of a netlist text."""
    out = {}
    for m in _MODULE.finditer(text):
        body = m.group(2)
        nets = {}
        for w in _WIRE.finditer(body):
            if w.group(1):
                hi, lo = sorted((int(w.group(1)), int(w.group(2))), reverse=True)
                nets[_clean(w.group(3))] = (lo, hi - lo + 1)
            else:
                nets[_clean(w.group(3))] = (0, 1)
        insts = []
        for i in _INST.finditer(body):
            if i.group(1) in ("module", "assign"):
                continue
            conns = {_clean(c.group(1)): c.group(2).strip() for c in _CONN.finditer(i.group(4))}
            insts.append(Instance(_clean(i.group(1)), _clean(i.group(3)), i.group(2) or "", conns))
        out[_clean(m.group(1))] = (insts, nets)
    return out


_BIT = re.compile(rf"^({_IDENT})\s*(?:\[(\d+)\])?$")


def _net_bit(expr, nets):
    """(net, bit index from 0) of a one-bit expression, or None for a constant."""
    m = _BIT.match(expr.strip())
    if not m:
        return None
    net = _clean(m.group(1))
    if net not in nets:
        return None
    return net, (int(m.group(2)) - nets[net][0]) if m.group(2) else 0


def _const_bits(text):
    """A Verilog constant as its bits, LSB first, each 0 or 1 (x and z as 0)."""
    m = re.match(r"^(\d+)'([hbd])([0-9a-fA-F_xz]+)$", text)
    width, base, digits = int(m.group(1)), m.group(2), m.group(3).replace("_", "")
    digits = re.sub("[xz]", "0", digits)
    value = int(digits, {"h": 16, "b": 2, "d": 10}[base])
    return [(value >> b) & 1 for b in range(width)]


def _split_concat(expr):
    expr = expr.strip()
    if expr.startswith("{") and expr.endswith("}"):
        return [p.strip() for p in expr[1:-1].split(",")]
    return [expr]


def _walk(modules, top, scope):
    """(instance path, module, instance, scope path) for every instance below `top`, whose
    own scope in the VCD is `scope`."""
    stack = [("", top, scope)]
    while stack:
        path, mod, scope = stack.pop()
        insts, _ = modules[mod]
        for inst in insts:
            ipath = f"{path}{inst.name}"
            if inst.cell in modules:
                stack.append((ipath + "/", inst.cell, f"{scope}.{inst.name}"))
            else:
                yield ipath, mod, inst, scope


def cell_pins(modules, top, cells, scope="top"):
    """[(instance path, cell, {pin: (scope, net, bit) or None})] for every liberty cell;
    `scope` is the VCD scope of the top module (`top` when cocotb runs it, `tb.dut` ...)."""
    out = []
    for ipath, mod, inst, scope in _walk(modules, top, scope):
        if inst.cell not in cells:
            continue
        nets = modules[mod][1]
        pins = {}
        for pin, expr in inst.conns.items():
            nb = _net_bit(expr, nets)
            pins[pin] = None if nb is None else (scope, nb[0], nb[1])
        out.append((ipath, inst.cell, pins))
    return out


def sram_instances(modules, top, cells, scope="top"):
    """[(instance path, scope, params text, {port: [(net, bit) or 0 / 1 (a constant bit) or
    None, ...] LSB first})] of every instance that is neither a liberty cell nor a module of
    the netlist."""
    out = []
    for ipath, mod, inst, scope in _walk(modules, top, scope):
        if inst.cell in cells:
            continue
        nets = modules[mod][1]
        ports = {}
        for pin, expr in inst.conns.items():
            bits = []
            for part in reversed(_split_concat(expr)):   # a concatenation lists its MSB first
                m = re.match(rf"^({_IDENT})\s*\[(\d+):(\d+)\]$", part)
                if m and _clean(m.group(1)) in nets:
                    net, hi, lo = _clean(m.group(1)), int(m.group(2)), int(m.group(3))
                    bits += [(net, b - nets[net][0]) for b in range(lo, hi + 1)]
                elif _clean(part) in nets and _BIT.match(part) and "[" not in part:
                    net = _clean(part)
                    bits += [(net, b) for b in range(nets[net][1])]
                elif re.match(r"^(\d+)'([hbd])([0-9a-fA-F_xz]+)$", part):
                    bits += _const_bits(part)
                else:
                    bits.append(_net_bit(part, nets))
            ports[pin] = bits
        out.append((ipath, scope, inst.params, ports))
    return out
