"""The read side of the cycle model: the two fetch generators (speculation side, execution side)
sharing the in-order data fetcher (`rtl/top.py`, `rtl/soc/fetcher.py`, `rtl/soc/dma.py`).

A row request is taken when the AXI reader is idle, round robin between the sides; it holds the
reader for `words + 2` cycles (command, address, one data word per cycle; one more address cycle
per 4 KiB crossing) and its word i leaves the reader at cycle `taken + 2 + i` (the harness memory
answers a burst one cycle after its address). A request to a credit-gated destination (the
speculation unit's x FIFO, the mask FIFO) waits until the consumer has freed room for it.
"""

from __future__ import annotations

__all__ = ["Transfer", "Fetcher", "FETCH_OVERHEAD"]

FETCH_OVERHEAD = 2          # command + address cycles of one request
PAGE = 4096


class Transfer:
    """`rows` requests of `words` bus words from `addr` (rows `stride` bytes apart); `credit(k)`
    returns the event that lets row k be requested (None: at once)."""

    def __init__(self, kernel, dest, addr, rows, words, stride, credit=None):
        self.dest, self.addr, self.rows, self.words, self.stride = dest, addr, rows, words, stride
        self.credit = credit
        self.next = 0
        self.valid_from = None
        self.kernel = kernel
        self.taken = [None] * rows        # cycle each row's request was taken
        self._first, self._done = {}, {}  # events, made when a process waits for them
        self.idle = kernel.event()        # every request taken (the generator is free next cycle)

    def first(self, r):
        """Event: row r's first word leaves the reader."""
        return self._event(self._first, r, 0)

    def done(self, r):
        """Event: row r's last word leaves the reader."""
        return self._event(self._done, r, None)

    def _event(self, table, r, offset):
        ev = table.get(r)
        if ev is None:
            ev = table[r] = self.kernel.event()
            if self.taken[r] is not None:
                self.fire_row(r)
        return ev

    def fire_row(self, r):
        t = self.taken[r]
        if r in self._first:
            self._first[r].fire(at=t + FETCH_OVERHEAD)
        if r in self._done:
            self._done[r].fire(at=t + FETCH_OVERHEAD + self.words + self.extra(r) - 1)

    def extra(self, k):
        """Address cycles beyond the first: one per 4 KiB boundary the row crosses."""
        start = self.addr + k * self.stride
        return (start + self.words * 8 - 1) // PAGE - start // PAGE


class Fetcher:
    """One reader, two generators ('spec', 'exec'), round robin per request."""

    def __init__(self, kernel):
        self.k = kernel
        self.slot = {"spec": None, "exec": None}
        self.turn_exec = False
        self.wake = kernel.event()
        self.bursts = 0
        self.words = 0
        self.busy_cycles = 0
        self.by_dest = {}
        kernel.spawn(self._serve(), prio=1)

    def post(self, side, tr):
        """The side's generator is given `tr` now; its first request is valid next cycle."""
        assert self.slot[side] is None or self.slot[side].next == self.slot[side].rows
        tr.valid_from = self.k.now + 1
        self.slot[side] = tr
        self.k.call_at(self.k.now + 1, self.poke, prio=0)
        return tr

    def poke(self):
        self.wake.fire()

    def _valid(self, side):
        k = self.k
        tr = self.slot[side]
        if tr is None or tr.next >= tr.rows or tr.valid_from > k.now:
            return False
        ev = tr.credit(tr.next) if tr.credit is not None else None
        if ev is None:
            return True
        if ev.fired:       # room freed at ev.time: the space counter shows it a cycle later
            if ev.time + 1 <= k.now:
                return True
            k.call_at(ev.time + 1, self.poke)
            return False
        if not ev.watched:
            ev.watched = True
            ev.waiters.append((self._poke_later(), 0))
        return False

    def _poke_later(self):
        yield 1
        self.wake.fire()

    def _serve(self):
        k = self.k
        while True:
            vs, ve = self._valid("spec"), self._valid("exec")
            if not (vs or ve):
                if self.wake.fired:
                    self.wake = k.event()
                yield self.wake
                continue
            pick = "exec" if ve and (not vs or self.turn_exec) else "spec"
            self.turn_exec = pick == "spec"
            tr = self.slot[pick]
            row = tr.next
            tr.next += 1
            now = k.now
            tr.taken[row] = now
            extra = tr.extra(row)
            dur = FETCH_OVERHEAD + tr.words + extra
            tr.fire_row(row)
            if tr.next == tr.rows:
                tr.idle.fire(at=now + 1)
            self.bursts += 1 + extra
            self.words += tr.words
            self.busy_cycles += dur - 1
            self.by_dest[tr.dest] = self.by_dest.get(tr.dest, 0) + tr.words * 8
            yield dur
