"""The one way a block testbench gets its configuration.

A block is simulated at a *shape*, which is either
- a `LapaConfig`: the block is built by its registry factory (`rtl.registry`, the call the
  generator makes, so lanes, widths and lengths derive from the config exactly as in the
  accelerator) and the config travels to the testbench as `LAPA_CONFIG` (JSON); or
- a `Params(cls, **kwargs)`, for a shape no LapaConfig expresses (a leaf block's own keyword
  arguments, e.g. a top-k radix or a score width below any head's): it travels as `LAPA_BLOCK`,
  a JSON object `{"block": name, "class": "module.Class", "params": {...}}`.

pytest side: `run_block(name, shape, simulator=...)` builds the Verilog and calls
`sim.runner.run_cocotb` with exactly one of the two variables set; the runner keys its build
folder by the Verilog, so every shape is built once however many tests reuse it.
cocotb side: `bench_block(name)` rebuilds the same block from whichever variable is set and
returns `(cfg, blk)`; the bench reads its parameters from the block's attributes (`blk.lanes`,
`blk.score_width`, ...) and only what a block does not hold from `cfg` (None for LAPA_BLOCK).
Measurement switches (`REPEAT`, `CYCLES_OUT`, ...) stay separate variables, documented where read.
"""

from __future__ import annotations

import importlib
import json
import os

__all__ = ["Params", "build_block", "run_block", "bench_block", "small_config"]


class Params:
    """A leaf block's class and keyword arguments: a shape outside every LapaConfig."""

    def __init__(self, cls, **kwargs):
        self.cls, self.kwargs = cls, kwargs

    def to_json(self, name) -> str:
        return json.dumps({"block": name, "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
                           "params": self.kwargs})

    @classmethod
    def from_json(cls, name, text):
        d = json.loads(text)
        if d.get("block") != name:
            raise ValueError(f"LAPA_BLOCK is for block {d.get('block')!r}, this bench tests {name!r}")
        module, _, qualname = d["class"].rpartition(".")
        return cls(getattr(importlib.import_module(module), qualname), **d["params"])

    def __repr__(self):
        return f"Params({self.cls.__name__}, {', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


def build_block(name, shape):
    """The component `name` at `shape` (a LapaConfig through the registry, or Params)."""
    from lapa.config import LapaConfig
    from rtl.registry import get_block

    if isinstance(shape, Params):
        return shape.cls(**shape.kwargs)
    if isinstance(shape, LapaConfig):
        return get_block(name).factory(shape)
    raise TypeError(f"shape = {shape!r}: must be a LapaConfig or a sim.blocks.Params")


def run_block(name, shape, *, module=None, env=None, **run_kw):
    """Simulate block `name` at `shape` with the cocotb tests of `module` (default `sim.<name>`)."""
    from lapa.config import LapaConfig
    from rtl.generate import to_verilog
    from sim.runner import run_cocotb

    text = to_verilog(build_block(name, shape), name)
    if isinstance(shape, LapaConfig):
        return run_cocotb(text, name, module or f"sim.{name}", config=shape, env=env, **run_kw)
    return run_cocotb(text, name, module or f"sim.{name}",
                      env={**(env or {}), "LAPA_BLOCK": shape.to_json(name)}, **run_kw)


def bench_block(name):
    """Testbench side: `(cfg, blk)`, the LapaConfig (None for a LAPA_BLOCK shape) and the block
    `name` built from it as the pytest side built the simulated one (never elaborated here)."""
    from sim.streams import load_config

    if "LAPA_BLOCK" in os.environ:
        cfg, shape = None, Params.from_json(name, os.environ["LAPA_BLOCK"])
    elif "LAPA_CONFIG" in os.environ:
        cfg = shape = load_config()
    else:
        raise RuntimeError(f"sim.{name}: neither LAPA_CONFIG nor LAPA_BLOCK is set "
                           "(run it through sim.blocks.run_block)")
    blk = build_block(name, shape)
    blk._MustUse__silence = True   # a parameter record, not a design: no "never elaborated" warning
    return cfg, blk



def small_config(**hw):
    """A LapaConfig whose hardware is the smallest legal one (d_model = head_dim = 8, every lane
    count 8, one MAC row, max_seq_len 1) changed by `hw`: block shapes written as what differs."""
    from lapa.config import HardwareConfig, LapaConfig

    base = dict(d_model=8, head_dim=8, max_seq_len=1, pea_lanes=8, peb_lanes=8, mac_rows=1,
                mac_cols=8, av_lanes=8)
    return LapaConfig(hw=HardwareConfig(**{**base, **hw}))
