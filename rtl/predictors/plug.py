"""The predictor generated into the predictor slot (`HardwareConfig.predictor`), plugged into the top level.

`plug_predictor(m, cfg)` instantiates the block of `cfg.hw.predictor` as `m.submodules.spec` (the
same instance path for every predictor) and returns it with its `PredictorSlot` interface, the
one view the top level uses (start / busy / job, `kept`, `needed`, `hat`, and the exact q / k rows
and scores a predictor may take):
- `lapa`: `rtl.speculation.unit.SpeculationUnit` unchanged (projector + LAPA predictor); its `start`,
  `busy`, `kept`, `needed`, `hat` and the job fields of its `config` (seq_len, project_k =
  first_head, last_head, trace, causal) are joined to a slot interface here, so the unit, its
  testbench and its instance paths stay as they are. It reads x, the LO weights and the RoPE
  table (`PROJECTS`); it takes none of the slot's exact rows or scores.
- `symlo`: `rtl.predictors.symlo.SymloUnit`, the speculation unit with the x-LOE on its x stream
  (a subclass: joined to the slot as lapa, reads the same x / LO weights / RoPE table).
- `dense`: `rtl.predictors.dense.DensePredictor` (C_1 as kept lists, every key needed), whose
  own member is the slot; it reads nothing from memory.
- `sanger` / `topk`: `rtl.predictors.exact.SangerPredictor` / `TopKPredictor`, slot members too;
  they take the execution unit's exact k / q rows (sanger) or scores over C_1 (topk), which the
  unit produces in its pre-phase for them only (`rtl.predictors.slot.FEEDS`); their SPEC 8
  parameters come on `config` (the rows of `lapa.fields` they consume).
Every block has `perf.kept_round` (the PAIRS_ROUND* counters).

The `speculation` block of the registry (what `build.py synth` / `verilog` take as the
speculation unit) is the predictor of the configuration.
"""

from amaranth.lib import wiring

from lapa.config import HardwareConfig

from rtl.predictors.dense import DensePredictor
from rtl.predictors.exact import SangerPredictor, TopKPredictor
from rtl.predictors.slot import PredictorSlot
from rtl.predictors.symlo import SymloUnit
from rtl.registry import block
from rtl.speculation.unit import SpeculationUnit

__all__ = ["PREDICTOR_BLOCKS", "PROJECTS", "predictor_block", "plug_predictor"]

PREDICTOR_BLOCKS = {"lapa": SpeculationUnit, "dense": DensePredictor, "sanger": SangerPredictor,
                    "topk": TopKPredictor}
PROJECTS = ("lapa",)    # the predictors that project x themselves (LO weights, RoPE table, x rows)
# symlo: the speculation unit with the x-LOE (rtl.predictors.symlo), plugged in as lapa is
PREDICTOR_BLOCKS["symlo"] = SymloUnit
PROJECTS += ("symlo",)


def predictor_block(cfg):
    """The block of `cfg.hw.predictor` (a wiring.Component)."""
    name = cfg.hw.predictor
    if name not in PREDICTOR_BLOCKS:
        raise ValueError(f"predictor = {name!r}: no block for the predictor slot "
                         f"(built: {', '.join(PREDICTOR_BLOCKS)})")
    return PREDICTOR_BLOCKS[name](cfg)


def _lapa_slot(m, spec, hw: HardwareConfig):
    """The speculation unit's ports as a slot interface (the predictor's side, flows of `PredictorSlot`)."""
    slot = PredictorSlot(hw).create(path=("slot",))
    cfg, job = spec.config, slot.job
    m.d.comb += [cfg.seq_len.eq(job.seq_len), cfg.causal.eq(job.causal), cfg.project_k.eq(job.first_head),
                 cfg.last_head.eq(job.last_head), cfg.trace.eq(job.trace), spec.start.eq(slot.start),
                 slot.busy.eq(spec.busy)]
    for name in ("kept", "needed", "hat"):
        wiring.connect(m, getattr(spec, name), wiring.flipped(getattr(slot, name)))
    m.d.comb += [getattr(slot, name).ready.eq(1) for name in ("q", "k", "scores")]   # LAPA needs none
    return slot


def plug_predictor(m, cfg):
    """(block, slot): the configuration's predictor as `m.submodules.spec` and its slot interface."""
    pred = m.submodules.spec = predictor_block(cfg)
    if isinstance(pred, SpeculationUnit):
        return pred, _lapa_slot(m, pred, cfg.hw)
    return pred, pred.slot


@block("speculation", unit="speculation")
def _speculation(cfg):
    """The predictor-slot block of the configuration (lapa: PEA, RoPE, LOE, PEB/MRSA and DDF of one head)."""
    return predictor_block(cfg)
