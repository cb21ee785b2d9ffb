"""On-chip buffers of the generated accelerator, read from the elaborated design: every
`lib.memory.Memory` with its width, depth and bits, and which of them are SRAM macros under the
synthesis flow's rule (a write port and at least `sram_min_bits` bits, `flows/asic.py`)."""

from __future__ import annotations

from amaranth.hdl import Fragment, MemoryInstance, Shape

__all__ = ["buffers", "sram_bits"]


def buffers(cfg, sram_min_bits=256):
    """[{path, width, depth, bits, sram}] of the whole accelerator (`rtl.top.LapaTop`), largest first."""
    from rtl.top import LapaTop

    rows = []

    def walk(frag, path):
        if isinstance(frag, MemoryInstance):
            # MemoryInstance keeps its MemoryData and ports private in Amaranth 0.5
            data, writes = frag._data, len(frag._write_ports)
            bits = Shape.cast(data.shape).width * data.depth
            rows.append({"path": path, "width": Shape.cast(data.shape).width, "depth": data.depth,
                         "bits": bits, "sram": writes > 0 and bits >= sram_min_bits})
        for sub, name, *_ in frag.subfragments:
            walk(sub, f"{path}/{name}" if path else str(name))

    walk(Fragment.get(LapaTop(cfg), None), "")
    return sorted(rows, key=lambda r: -r["bits"])


def sram_bits(rows):
    """Total bits of the SRAM macros, and per unit (`core/spec`, `core/exec`, the rest)."""
    per = {}
    for r in rows:
        if r["sram"]:
            unit = {"spec": "speculation", "exec": "execution"}.get(r["path"].split("/")[1:2][0]
                                                                   if "/" in r["path"] else "", "other")
            per[unit] = per.get(unit, 0) + r["bits"]
    return sum(per.values()), per
