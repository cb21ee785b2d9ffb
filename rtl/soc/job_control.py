"""Job control: CTRL.start to STATUS (busy, done, ERROR), outside the part a bus fault resets.

A start while idle clears `done` and `clear_counters` pulses; the job is then refused at once
(`done`, ERROR = BUS_PENDING while the bus guard still waits for a timed-out burst, else the
ConfigCheck code `check_error`), or it waits while the guard drains a faulted job's bursts, or it
begins (`go`). `busy` is the job running (`running`, the sequencer past IDLE) or a start waiting.
`finished` (the job's last result is in memory) sets `done`; a bus fault (`fault`) ends the job
at once: `flush` resets the core, `done` with the guard's code `fault_code`.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from rtl.soc.regmap import ERROR_CODES

__all__ = ["JobControl"]


class JobControl(wiring.Component):
    """Start / done / ERROR of the accelerator's jobs (see module docstring)."""

    def __init__(self):
        super().__init__({
            "start": In(1), "check_error": In(8), "running": In(1), "finished": In(1),
            "guard_dead": In(1), "guard_draining": In(1), "fault": In(1), "fault_code": In(8),
            "go": Out(1), "busy": Out(1), "done": Out(1), "error": Out(8),
            "clear_counters": Out(1), "flush": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        waiting = Signal()                 # a start waits for the guard's drain
        refusal = Mux(self.guard_dead, ERROR_CODES["BUS_PENDING"], self.check_error)
        m.d.comb += self.busy.eq(self.running | waiting)
        with m.If(self.start & ~self.busy):
            m.d.comb += self.clear_counters.eq(1)
            m.d.sync += [self.done.eq(0), self.error.eq(refusal)]
            with m.If(refusal != 0):
                m.d.sync += self.done.eq(1)
            with m.Elif(self.guard_draining):
                m.d.sync += waiting.eq(1)
            with m.Else():
                m.d.comb += self.go.eq(1)
        with m.If(waiting & (self.guard_dead | ~self.guard_draining)):
            m.d.sync += [waiting.eq(0), self.error.eq(refusal)]
            with m.If(refusal != 0):
                m.d.sync += self.done.eq(1)
            with m.Else():
                m.d.comb += self.go.eq(1)
        with m.If(self.finished):
            m.d.sync += self.done.eq(1)
        with m.If(self.fault):
            m.d.comb += self.flush.eq(1)
            m.d.sync += [self.done.eq(1), self.error.eq(self.fault_code)]
        return m
