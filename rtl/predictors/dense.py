"""The dense predictor (SPEC 8 `dense`) in the predictor slot: M = C_1, every key needed.

No prediction hardware: a job (`slot.start`; `slot.job` as in `rtl.predictors.slot`) sends, for
every query row t = 0..seq_len-1 in order, the keys of C_1 ascending on `kept` (s = 0..t when
`causal`, else s = 0..seq_len-1; `last` on the row's final key), then, with `last_head`, every key
0..seq_len-1 on `needed` (the union of C_1 over any rows: row seq_len-1 holds them all), `last`
on seq_len-1. One beat per cycle, each stream waits for its `ready`; `hat` stays silent (SPEC 8:
dense reports q_hat / k_hat as 0, which the accelerator leaves in memory) and the exact q / k
rows and scores are not used (their `ready` is 1). The job's fields are latched at `start`, so
every output is a function of registers only.

`perf.kept_round[0]`: kept keys sent since reset (|C_1| summed over rows, PAIRS_ROUND1); the
other rounds read 0 (dense has one).
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from lapa.config import HardwareConfig

from rtl.predictors.slot import PREDICTOR_INPUTS, PredictorSlot
from rtl.speculation.projector import PERF_WIDTH
from rtl.registry import block

__all__ = ["dense_perf_layout", "DensePredictor"]


def dense_perf_layout(hw: HardwareConfig):
    """`kept_round` (max_rounds entries, PERF_WIDTH bits), as the LAPA predictor's."""
    return data.StructLayout({"kept_round": data.ArrayLayout(unsigned(PERF_WIDTH), hw.max_rounds)})


class DensePredictor(wiring.Component):
    """C_1 as kept lists, every key needed (see module docstring); `cfg` a LapaConfig or HardwareConfig."""

    def __init__(self, cfg):
        hw = getattr(cfg, "hw", cfg)
        self.hw = hw
        super().__init__({"slot": Out(PredictorSlot(hw)), "perf": Out(dense_perf_layout(hw))})

    def elaborate(self, platform):
        m = Module()
        hw, slot = self.hw, self.slot
        job, kept, needed = slot.job, slot.kept, slot.needed
        iw = hw.seq_index_width
        t = Signal(unsigned(iw), name="row")   # query row
        s = Signal(unsigned(iw), name="key")   # key
        end = Signal(unsigned(iw), name="end")   # seq_len - 1
        causal, last_head = Signal(name="causal"), Signal(name="last_head")   # the job, latched at start
        m.d.comb += slot.hat.valid.eq(0)
        m.d.comb += [getattr(slot, name).ready.eq(1) for name in PREDICTOR_INPUTS]
        row_end = Mux(causal, s == t, s == end)
        count = self.perf.kept_round[0]
        with m.If(kept.valid & kept.ready):
            m.d.sync += count.eq(count + 1)
        m.d.comb += [r.eq(0) for r in list(self.perf.kept_round)[1:]]

        with m.FSM(name="dense") as fsm:
            with m.State("IDLE"):
                with m.If(slot.start):
                    m.d.sync += [t.eq(0), s.eq(0), end.eq(job.seq_len - 1), causal.eq(job.causal),
                                 last_head.eq(job.last_head)]
                    m.next = "KEPT"
            with m.State("KEPT"):
                m.d.comb += [kept.valid.eq(1), kept.payload.key.eq(s), kept.payload.last.eq(row_end)]
                with m.If(kept.ready):
                    m.d.sync += s.eq(s + 1)
                    with m.If(row_end):
                        m.d.sync += [s.eq(0), t.eq(t + 1)]
                        with m.If((t == end) & last_head):
                            m.next = "NEEDED"
                        with m.Elif(t == end):
                            m.next = "IDLE"
            with m.State("NEEDED"):
                m.d.comb += [needed.valid.eq(1), needed.payload.key.eq(s), needed.payload.last.eq(s == end)]
                with m.If(needed.ready):
                    m.d.sync += s.eq(s + 1)
                    with m.If(s == end):
                        m.next = "IDLE"
        m.d.comb += slot.busy.eq(~fsm.ongoing("IDLE"))
        return m


@block("dense", unit="speculation")
def _dense(cfg):
    """Dense predictor: C_1 as kept lists, every key needed (SPEC 8 dense; no prediction hardware)."""
    return DensePredictor(cfg)
