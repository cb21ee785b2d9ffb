# amaranth: UnusedElaboratable=no
"""Fetch scheduler and credit FIFOs (Amaranth simulator): every command's rows requested once, in
order, at the right addresses; a credited destination's row only when its FIFO can take all of
it, so a delivered word is never refused; both sides served under random back-pressure."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from rtl.common.credit_fifo import CreditFIFO
from rtl.soc.fetch_scheduler import FetchScheduler
from rtl.common.resize import word_layout

CREDITS = {0: 6, 2: 4}                   # dest: FIFO depth (words)
SIDE_DESTS = ((0, 1), (2, 3))            # the destinations each side fetches for


def _commands(rng, side):
    out = []
    for _ in range(6):
        dest = rng.choice(SIDE_DESTS[side])
        words = rng.randint(1, CREDITS.get(dest, 5))
        out.append({"dest": dest, "addr": rng.randrange(0, 1 << 12) * 8, "rows": rng.randint(1, 5), "words": words})
    return out


@pytest.mark.parametrize("seed,stall", [(1, 0.0), (2, 0.5), (3, 0.8)])
def test_fetch_scheduler_rows_and_credits(seed, stall):
    rng = random.Random(seed)
    m = Module()
    m.submodules.sched = sched = FetchScheduler(n_sides=2, n_dest=4, credits=CREDITS, max_rows=8, max_words=8)
    fifos = {}
    for k, (dest, depth) in enumerate(CREDITS.items()):
        q = m.submodules[f"fifo{dest}"] = fifos[dest] = CreditFIFO(word_layout(64), depth)
        m.d.comb += [sched.space[k].eq(q.space), q.claim.eq(sched.claim[k])]
    cmds = [_commands(rng, 0), _commands(rng, 1)]
    want = {d: [] for d in range(4)}      # (addr, beats) of every row, per destination
    for side in cmds:
        for c in side:
            want[c["dest"]] += [(c["addr"] + r * c["words"] * 8, c["words"]) for r in range(c["rows"])]
    got = {d: [] for d in range(4)}
    drained = {d: 0 for d in CREDITS}

    async def bench(ctx):
        todo = [list(side) for side in cmds]
        pending = []                      # words the "fetcher" still delivers, in request order
        for _ in range(4000):
            for k, side in enumerate(todo):
                ctx.set(sched.cmd[k].valid, bool(side))
                if side:
                    ctx.set(sched.cmd[k].payload, side[0])
            ctx.set(sched.req.ready, rng.random() >= stall)
            for q in fifos.values():
                ctx.set(q.o.ready, rng.random() >= stall)
            word = pending[0] if pending else None
            for dest, q in fifos.items():
                ctx.set(q.i.valid, word == dest)
                ctx.set(q.i.payload, {"data": rng.getrandbits(64), "last": 0})
            if word in fifos:
                assert ctx.get(fifos[word].i.ready), f"dest {word}: a claimed word was refused"
            if word is not None:
                pending.pop(0)
            for dest, q in fifos.items():
                drained[dest] += ctx.get(q.o.valid) and ctx.get(q.o.ready)
            if ctx.get(sched.req.valid) and ctx.get(sched.req.ready):
                req = ctx.get(sched.req.payload)
                dest, beats = int(req.dest), int(req.beats)
                if dest in fifos:
                    assert ctx.get(fifos[dest].space) >= beats, f"dest {dest}: requested beyond its credit"
                got[dest].append((int(req.addr), beats))
                pending += [dest] * beats
            for k, side in enumerate(todo):
                if side and ctx.get(sched.cmd[k].ready):
                    side.pop(0)
            await ctx.tick()
            if not any(todo) and not pending and not ctx.get(sched.busy) and all(
                    drained[d] == sum(b for _, b in want[d]) for d in fifos):
                break
        else:
            raise AssertionError(f"not done: {({d: len(v) for d, v in got.items()})}")
        for q in fifos.values():
            assert ctx.get(q.space) == q.depth

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == want
