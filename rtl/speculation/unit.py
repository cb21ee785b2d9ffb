"""Speculation unit of SPEC section 3 for one head: the projector and LAPA's predictor, composed.

`rtl.speculation.projector.Projector` (x -> PEA -> RoPE, SPEC 3.2-3.3, 3a) sends each q_hat / k_hat row on
a `hat_layout` stream to `rtl.speculation.lapa_predictor.LapaPredictor` (LOE, PEB / MRSA rounds, DDF, the
needed scan, SPEC 3.3-3.6), which owns the q_hat / k_hat row buffers and sits in the predictor
slot (`rtl.predictors.slot`); the two share nothing else. One job (`start`, then `busy` until
done) predicts the mask of one query head:

1. Projection, token by token (the `x` stream brings the token's D int8 values, one per beat,
   tokens in order); `config.project_k` = 0 keeps the previous job's k_hat (the other query heads
   of the same KV head, grouped-query attention).
2. Trace (only when `config.trace` = 1): once every row is stored, and before the prediction,
   the `hat` stream gives the q_hat rows t = 0..seq_len-1 then, when `project_k` = 1, the k_hat
   rows, as stored (after RoPE): what `golden.speculation.predict_hat` gives. The job waits for
   `hat` (valid/ready); with `trace` = 0, `hat.valid` stays 0 and no cycle is added.
3. Prediction, row by row; `kept`: for every query row t = 0..seq_len-1 in order, the kept key
   indices M[t] (SPEC 3.6) ascending, `last` on the row's final key (every row keeps at least one).
4. `needed`: at the end of a job with `config.last_head` = 1, key_needed of the KV head (the union
   over every job since the previous `last_head` job) as ascending key indices, `last` on the
   final one; the union is then cleared.
`kept` and `needed` have the layout `rtl.execution.kv_control.kv_request_layout` (`{key, last}`, what the
execution unit takes).

Loading (before `start`, host side): `w_*` writes the projector's weight buffer, entry `g*D + i`
holding the LO codes (`rtl.speculation.loe.LOCode`) of `w[i, (g mod G)*lanes + l]` for l < pea_lanes, with
G = dh / pea_lanes groups of wq (g < G) then of wk (g >= G); `rope_w_*` writes the RoPE table
(`golden.rope.rope_table(max_seq_len, dh, rope_base, pos0)`, as for the execution unit).

`perf` (layout `SpeculationUnit.perf_layout(hw)`, PERF_WIDTH-bit counters since reset; PERF_FIELDS,
then `kept_round`): busy cycles (`cycles`), the cycles of the prediction (`predict_cycles`: rows
and `needed`, after the trace), PEA and PEB beats, candidates scored (`pairs`, sum over rounds
of |C_r|) and |C_1| summed over rows (`c1`; skipped pairs = R * c1 - pairs), the candidate
FIFO's high-water mark (`fifo_peak`), and `kept_round[r]` (r < max_rounds, 0-based): the DDF
survivors of round r, |C_{r+1}| summed over rows (golden `mrsa_rounds(...).cands[r + 1].sum()`;
the last round's are the kept keys).

Runtime configuration `config` (SPEC 5 names, layout `spec_config_layout`) must stay stable
while `busy`. Cost per query row: sum_r |C_r| * dh / peb_lanes PEB beats plus a few cycles per
round; a token's projection costs D (x row load) + (1 + project_k) * dh / pea_lanes * D cycles;
the trace, when on, (1 + project_k) * seq_len + 1 cycles without back-pressure (measured
prediction figures: `rtl.speculation.lapa_predictor`).
"""

from amaranth.hdl import Module, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig
from lapa.fields import ROUND_COUNT_WIDTH

from rtl.execution.kv_control import kv_request_layout
from rtl.speculation.lapa_predictor import LapaPredictor, lapa_config_layout
from rtl.soc.param_regs import param_layout
from rtl.predictors.slot import PREDICTOR_INPUTS, hat_layout
from rtl.speculation.projector import LOAD_PORTS, PERF_WIDTH, Projector, load_members, projector_config_layout

__all__ = ["PERF_WIDTH", "PERF_FIELDS", "spec_config_layout", "hat_layout", "spec_shape", "SpeculationUnit"]

PERF_FIELDS = ("cycles", "predict_cycles", "pea_beats", "peb_beats", "pairs", "c1", "fifo_peak")


def spec_config_layout(hw: HardwareConfig):
    """The runtime configuration the unit reads, one struct: the job's fields, then the rows of
    `lapa.fields` it consumes (SPEC 5 names, their widths; per-round rows max_rounds entries)."""
    return data.StructLayout({
        "seq_len": unsigned(hw.max_seq_len.bit_length()),
        "project_k": 1, "last_head": 1, "n_rounds": unsigned(ROUND_COUNT_WIDTH), "trace": 1,
        **param_layout("speculation", hw.max_rounds),
    })


def spec_shape(hw: HardwareConfig):
    """(G, CH): PEA column groups per row, PEB chunks per key (`HardwareConfig` guarantees the
    lane counts divide dh)."""
    return hw.head_dim // hw.pea_lanes, hw.head_dim // hw.peb_lanes


class SpeculationUnit(wiring.Component):
    """The speculation unit of one head; shape from `cfg.hw`, arithmetic at run time."""

    def __init__(self, cfg):
        hw = cfg.hw
        self.hw = hw
        self.groups, self.chunks = spec_shape(hw)
        iw = hw.seq_index_width
        super().__init__({
            "config": In(spec_config_layout(hw)),
            "start": In(1),
            "busy": Out(1),
            **load_members(hw),
            "kept": Out(stream.Signature(kv_request_layout(iw))),
            "needed": Out(stream.Signature(kv_request_layout(iw))),
            "hat": Out(stream.Signature(hat_layout(hw))),
            "perf": Out(self.perf_layout(hw)),
        })

    @staticmethod
    def perf_layout(hw: HardwareConfig):
        """The performance counters: PERF_FIELDS, then `kept_round` (one per round, max_rounds),
        PERF_WIDTH bits each."""
        return data.StructLayout({**{n: PERF_WIDTH for n in PERF_FIELDS},
                                  "kept_round": data.ArrayLayout(unsigned(PERF_WIDTH), hw.max_rounds)})

    def x_source(self, m):
        """The stream the projector takes its x from: the unit's `x` (a subclass may code it first,
        `rtl.predictors.symlo.SymloUnit`)."""
        return wiring.flipped(self.x)

    def elaborate(self, platform):
        m = Module()
        hw, cfg = self.hw, self.config
        layout = spec_config_layout(hw)
        m.submodules.projector = proj = Projector(hw, projector_config_layout(hw, layout))
        m.submodules.predictor = pred = LapaPredictor(hw, lapa_config_layout(layout))
        slot = pred.slot
        m.d.comb += [proj.config[n].eq(cfg[n]) for n, _ in projector_config_layout(hw, layout)]
        m.d.comb += [pred.config[n].eq(cfg[n]) for n, _ in lapa_config_layout(layout)]
        m.d.comb += [slot.job.seq_len.eq(cfg.seq_len), slot.job.causal.eq(cfg.causal),
                     slot.job.first_head.eq(cfg.project_k), slot.job.last_head.eq(cfg.last_head),
                     slot.job.trace.eq(cfg.trace), proj.start.eq(self.start), slot.start.eq(self.start),
                     self.busy.eq(slot.busy)]
        m.d.comb += [getattr(slot, name).valid.eq(0) for name in PREDICTOR_INPUTS]   # LAPA needs none
        wiring.connect(m, proj.rows, pred.rows)
        wiring.connect(m, self.x_source(m), proj.x)
        for name in LOAD_PORTS:
            m.d.comb += getattr(proj, name).eq(getattr(self, name))
        for name in ("kept", "needed", "hat"):
            wiring.connect(m, getattr(slot, name), wiring.flipped(getattr(self, name)))
        perf = self.perf
        with m.If(self.busy):
            m.d.sync += perf.cycles.eq(perf.cycles + 1)
        m.d.comb += [perf.pea_beats.eq(proj.pea_beats), perf.kept_round.eq(pred.perf.kept_round)]
        m.d.comb += [perf[n].eq(pred.perf[n]) for n in PERF_FIELDS if n not in ("cycles", "pea_beats")]
        return m

