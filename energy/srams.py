"""The SRAM macros of a configuration without synthesizing it: the memories of the elaborated
top (`rtl.top.LapaTop`) that the ASIC flow maps to LAPA_SRAM black boxes (a write port and at
least `sram_min_bits` bits, `constraints/sram_map.v`), each with its width, depth and ports, and
CACTI's figures for it (`flows.cacti.sram`). Paths are the netlist's instance paths below the
core (`spec/kbuf`, `exec/softmax/exps`, `fetch0_fifo/storage`), the names of an energy table's
`srams` (`energy.table`), so a measured table's buffers can be priced at another shape.
"""

from __future__ import annotations

__all__ = ["design_srams", "target_srams"]

_CORE = "core/"


def design_srams(hw, sram_min_bits=256):
    """{path: (width, depth, read ports, write ports)} of the SRAM macros of hardware `hw`."""
    from amaranth.hdl import Fragment, Shape
    from amaranth.hdl._mem import MemoryInstance

    from lapa.config import LapaConfig
    from rtl.top import LapaTop

    from .blocks import flat_path

    out = {}

    def walk(frag, path):
        if isinstance(frag, MemoryInstance):
            width = Shape.cast(frag._data.shape).width
            depth = frag._data.depth
            rd, wr = len(frag._read_ports), len(frag._write_ports)
            if wr and width * depth >= sram_min_bits:
                out[flat_path(path[len(_CORE):] if path.startswith(_CORE) else path)] = (width, depth, rd, wr)
        for sub, name, *_ in frag.subfragments:
            walk(sub, f"{path}/{name}" if path else str(name))

    walk(Fragment.get(LapaTop(LapaConfig(hw=hw)), None), "")
    return out


def target_srams(table, hw, sram_min_bits=256):
    """(sram_target, notes) for `energy.layer.layer_energy`: {path of the table: CACTI figures
    of the same buffer at `hw`'s shape, with the table's unit}, and which table buffers have no
    macro at `hw` ('table figures' then stand in) and which target macros the table does not
    know (their accesses are not modelled)."""
    from flows.cacti import sram

    shapes = design_srams(hw, sram_min_bits)
    target, stand_in = {}, []
    for path, s in table["srams"].items():
        if path not in shapes:
            stand_in.append(path)
            continue
        width, depth, rd, wr = shapes[path]
        fig = sram(width, depth, rd, wr)
        target[path] = {"width": width, "depth": depth, "read_pj": fig["read_pj"],
                        "write_pj": fig["write_pj"], "leakage_uw": fig["leakage_uw"],
                        "area_um2": fig["area_um2"], "unit": s["unit"]}
    unknown = sorted(set(shapes) - set(table["srams"]))
    return target, {"table_figures_for": sorted(stand_in), "not_modelled": unknown,
                    "source": "CACTI 7 at the point's buffer shapes (elaborated design)"}
