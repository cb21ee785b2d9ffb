"""cocotb test of the top level under bus faults: every fault ends the job with its ERROR code and
irq, nothing hangs, and the job run right after it is bit-exact.

LAPA_FAULTS (JSON): `job` (one job as `sim.top` takes it), `scenarios` (each: `kind`, `frac`,
the fault's position as a fraction of what a clean run serves, `resp`, `watchdog`), `report`
(a JSON file of the outcomes). First a clean run counts the read beats, write responses and read
bursts; then per scenario: the fault armed in `sim.axi_faults.FaultyRam` (or a reset pulled in
the middle of a read or write burst), the job started, its outcome checked (ERROR code,
FAULT_ADDR, cycles from the fault to irq, STATUS.bus_pending and a refused restart after a
timeout whose burst never answers, a restart waiting while the drain waits), the recovery (the
withheld answer released, or a reset of accelerator and RAM), then the clean job again, its
outputs saved for the pytest side to compare with golden.
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time

from host.job import STATUS_ERROR
from rtl.soc.regmap import ERROR_CODES

from .axi_faults import AxiResp, FaultyRam
from .streams import reset, start_clock
from .top import PERIOD_NS, Host, pauses

STATUS_BUSY, STATUS_DONE, STATUS_PENDING = 0b1, 0b10, 0b1000
EXPECT = {"rresp": "READ_{}", "bresp": "WRITE_{}", "rresp_hold": "READ_{}", "r_hold": "READ_TIMEOUT",
          "ar_block": "READ_TIMEOUT", "b_hold": "WRITE_TIMEOUT"}
# cycles from the fault's injection to irq for an error response: the flush and done take 2,
# the beat may wait in the RAM model's queue while the core back-pressures
RESPONSE_LATENCY = 200
# AXI stall patterns of the clean jobs, in turn: which channels of the RAM stall (p = 0.3)
STALLS = {"none": (), "read": ("ar", "r"), "write": ("aw", "w", "b"), "addr": ("ar", "aw"), "resp": ("r", "b")}


def now():
    return int(get_sim_time("ns")) // PERIOD_NS


async def wait_irq(dut, cycles):
    """Wait for irq at most `cycles` cycles; False if it did not come."""
    if not int(dut.irq.value):
        await First(RisingEdge(dut.irq), Timer(cycles * PERIOD_NS, "ns"))
    return bool(int(dut.irq.value))


async def last_answer(dut, side, seen, stop):
    """The last cycle the memory answered on `side` ('read': an address taken or data offered;
    'write': an address or data taken, a response offered; 'address': the read address was not
    waiting) in `seen[0]`, until `stop` is set: the watchdog counts from the cycle after."""
    if side == "address":
        active = lambda: not int(dut.axi__arvalid.value) or int(dut.axi__arready.value)
    elif side == "read":
        active = lambda: int(dut.axi__rvalid.value) or (int(dut.axi__arvalid.value) and int(dut.axi__arready.value))
    else:
        active = lambda: (int(dut.axi__bvalid.value) or (int(dut.axi__awvalid.value) and int(dut.axi__awready.value))
                          or (int(dut.axi__wvalid.value) and int(dut.axi__wready.value)))
    while not stop:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if active():
            seen[0] = now()


async def reset_mid_burst(dut, channel, at, done):
    """Pull reset on the first handshake from the `at`-th on of `channel` ('r' or 'w') that is not
    its burst's last beat; `done` gets (beat, cycle)."""
    valid, ready, last = (getattr(dut, f"axi__{channel}{s}") for s in ("valid", "ready", "last"))
    beats = 0
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(valid.value) and int(ready.value):
            if beats >= at and not int(last.value):
                done.append((beats, now()))
                break
            beats += 1
    await RisingEdge(dut.clk)
    await reset(dut)


class FaultBench:
    def __init__(self, dut, spec):
        self.dut, self.spec = dut, spec
        self.host = Host(dut, {"jobs": [spec["job"]], "pause": 0, "progress": os.devnull})
        self.ram = FaultyRam(self.host.ram)
        self.job = spec["job"]
        self.outcomes = []

    async def regs(self):
        return {n: int(await self.host.read(n)) for n in ("STATUS", "ERROR", "FAULT_ADDR", "CYCLES_TOTAL")}

    def channels(self):
        ram = self.host.ram
        return {"ar": ram.read_if.ar_channel, "r": ram.read_if.r_channel, "aw": ram.write_if.aw_channel,
                "w": ram.write_if.w_channel, "b": ram.write_if.b_channel}

    async def clean(self, tag, stalls="none"):
        """The job from scratch under the `stalls` pattern; its outputs saved as result file `tag`."""
        job = dict(self.job, result=self.job["result"].replace(".npz", f"-{tag}.npz"))
        for name in STALLS[stalls]:
            self.channels()[name].set_pause_generator(pauses(self.host.rng, 0.3))
        await self.host.start(job)
        finished = await wait_irq(self.dut, job["max_cycles"])
        for name in STALLS[stalls]:
            self.channels()[name].clear_pause_generator()
            self.channels()[name].pause = False
        assert finished, f"{tag}: clean job did not finish"
        regs = await self.regs()
        assert regs["STATUS"] & STATUS_ERROR == 0, f"{tag}: clean job failed: {regs}"
        await self.host.save(job)
        return job["result"], regs["CYCLES_TOTAL"]

    async def scenario(self, k, sc, served):
        dut, ram, kind = self.dut, self.ram, sc["kind"]
        wd = sc["watchdog"]
        out = {"kind": kind, "watchdog": wd}
        if kind.startswith("reset_"):
            channel = kind[-1]
            fired = []
            cocotb.start_soon(reset_mid_burst(dut, channel, int(sc["frac"] * served[channel]), fired))
            await self.host.start(self.job)
            for _ in range(self.job["max_cycles"] // 100):
                if fired:
                    break
                await ClockCycles(dut.clk, 100)
            assert fired, f"{kind}: no burst to reset in"
            await ClockCycles(dut.clk, 8)
            regs = await self.regs()
            assert regs["STATUS"] == 0 and not int(dut.irq.value), f"{kind}: state after reset {regs}"
            out.update(beat=fired[0][0], outcome="reset; STATUS = 0")
        else:
            resp = AxiResp.DECERR if sc["resp"] == "DECERR" else AxiResp.SLVERR
            count = {"rresp": "r", "rresp_hold": "r", "r_hold": "r", "bresp": "b", "b_hold": "b",
                     "ar_block": "ar"}[kind]
            at = min(int(sc["frac"] * served[count]), served[count] - 2)
            ram.arm(kind, at, resp)
            seen, stop = [0], []
            side = "write" if kind.startswith("b") else ("address" if kind == "ar_block" else "read")
            if kind in ("r_hold", "ar_block", "b_hold"):
                cocotb.start_soon(last_answer(dut, side, seen, stop))
            await self.host.start(self.job, extra=[("WATCHDOG", wd)])
            assert await wait_irq(dut, self.job["max_cycles"] + wd), f"{kind} at {at}: the job hung"
            t_irq = now()
            stop.append(1)
            assert ram.fired, f"{kind} at {at}: the fault was never injected"
            regs = await self.regs()
            want = EXPECT[kind].format(sc["resp"])
            code = {v: n for n, v in ERROR_CODES.items()}.get(regs["ERROR"])
            assert regs["STATUS"] & (STATUS_ERROR | STATUS_DONE | STATUS_BUSY) == STATUS_ERROR | STATUS_DONE, \
                f"{kind}: STATUS = {regs['STATUS']:#x}"
            assert code == want, f"{kind} at {at}: ERROR = {regs['ERROR']} ({code}), expected {want}"
            addr = ram.fired[1] if ram.fired[1] is not None else int(dut.axi__araddr.value)
            assert regs["FAULT_ADDR"] == addr, f"{kind}: FAULT_ADDR {regs['FAULT_ADDR']:#x} != {addr:#x}"
            # error responses: from the injection; timeouts: from the memory's last answer
            latency = t_irq - (seen[0] if kind in ("r_hold", "ar_block", "b_hold") else ram.fired_ns // PERIOD_NS)
            out.update(at=at, code=code, fault_addr=regs["FAULT_ADDR"], latency=latency,
                       cycles=regs["CYCLES_TOTAL"])
            if kind in ("rresp", "bresp"):
                assert latency <= RESPONSE_LATENCY, f"{kind}: irq {latency} cycles after the fault"
                out["outcome"] = f"{code}, irq after {latency} cycles"
            elif kind == "rresp_hold":
                # restart while the guard still waits for the burst's remaining beats: the start waits
                await self.host.start(self.job, extra=[("WATCHDOG", wd)])
                await ClockCycles(dut.clk, wd // 4)
                st = int(await self.host.read("STATUS"))
                assert st & (STATUS_BUSY | STATUS_DONE | STATUS_PENDING) == STATUS_BUSY, f"{kind}: STATUS {st:#x}"
                ram.release()
                assert await wait_irq(dut, self.job["max_cycles"]), f"{kind}: the waiting job never ran"
                regs = await self.regs()
                assert regs["STATUS"] & STATUS_ERROR == 0, f"{kind}: the waiting job failed: {regs}"
                out["outcome"] = f"{code}; a restart waited for the drain, then ran"
            else:
                # a timeout: within the limit, then every start is refused until the memory answers
                assert wd <= latency <= wd + 4, f"{kind}: irq {latency} cycles after the memory's last answer (limit {wd})"
                st = int(await self.host.read("STATUS"))
                assert st & STATUS_PENDING, f"{kind}: STATUS.bus_pending not set ({st:#x})"
                await self.host.start(self.job)
                assert await wait_irq(dut, 64), f"{kind}: a start with the bus pending hung"
                err = int(await self.host.read("ERROR"))
                assert err == ERROR_CODES["BUS_PENDING"], f"{kind}: restart gave ERROR = {err}"
                if sc.get("recover") == "reset":
                    await reset(dut)
                    ram.release()
                    how = "reset"
                else:
                    ram.release()
                    await ClockCycles(dut.clk, 300)
                    how = "late answer"
                st = int(await self.host.read("STATUS"))
                assert not st & STATUS_PENDING, f"{kind}: bus_pending stays after the {how} ({st:#x})"
                out["outcome"] = f"{code} after {latency} cycles; restart refused (BUS_PENDING); {how} clears it"
            ram.release()
        stalls = list(STALLS)[(k + 1) % len(STALLS)]
        result, cycles = await self.clean(f"after{k}", stalls)
        out.update(result=result, clean_cycles=cycles, stalls=stalls)
        self.outcomes.append(out)


@cocotb.test()
async def bus_faults(dut):
    """Every scenario of LAPA_FAULTS on one build, each followed by a clean job."""
    spec = json.loads(os.environ["LAPA_FAULTS"])
    await start_clock(dut, PERIOD_NS)
    bench = FaultBench(dut, spec)
    await reset(dut)
    before = dict(bench.ram.counts)
    result, cycles = await bench.clean("first")
    served = {name: bench.ram.counts[name] - before[name] for name in ("ar", "r", "b")}
    served.update(w=served["b"])   # reset_w counts W beats: at least one per burst
    bench.outcomes.append({"kind": "clean", "result": result, "clean_cycles": cycles, "served": served,
                           "stalls": "none"})
    try:
        for k, sc in enumerate(spec["scenarios"]):
            await bench.scenario(k, sc, served)
    finally:
        with open(spec["report"], "w") as f:
            json.dump(bench.outcomes, f)
