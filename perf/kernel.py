"""A minimal discrete-event kernel for the cycle model: processes are generators that yield a
delay in cycles (an int) or an `Event` to wait for; time is the accelerator's clock cycle."""

from __future__ import annotations

import heapq

__all__ = ["Event", "Kernel"]


class Event:
    """Fires once, at a cycle; processes waiting on it resume at that cycle."""

    __slots__ = ("kernel", "time", "waiters", "watched")

    def __init__(self, kernel):
        self.kernel, self.time, self.waiters, self.watched = kernel, None, [], False

    @property
    def fired(self):
        return self.time is not None

    def fire(self, at=None):
        """Fire now (or at the later cycle `at`, scheduled)."""
        k = self.kernel
        if self.fired:
            return
        if at is not None and at > k.now:
            k.call_at(at, self.fire)
            return
        if at is not None and at < k.now:      # a cycle already past (the event was made late)
            self.time = at
            return
        self.time = k.now
        for proc in self.waiters:
            k.resume(proc, k.now)
        self.waiters = []


class Kernel:
    def __init__(self):
        self.now = 0
        self._queue = []
        self._seq = 0

    def event(self):
        return Event(self)

    def _push(self, at, prio, item):
        self._seq += 1
        heapq.heappush(self._queue, (at, prio, self._seq, item))

    def spawn(self, gen, at=None, prio=0):
        self._push(self.now if at is None else at, prio, ("proc", gen, prio))
        return gen

    def resume(self, proc, at):
        gen, prio = proc
        self._push(at, prio, ("proc", gen, prio))

    def call_at(self, at, fn, prio=0):
        self._push(at, prio, ("call", fn, prio))

    def run(self):
        while self._queue:
            at, prio, _, (kind, obj, p) = heapq.heappop(self._queue)
            self.now = at
            if kind == "call":
                obj()
                continue
            self._step(obj, p)

    def _step(self, gen, prio):
        while True:
            try:
                req = next(gen)
            except StopIteration:
                return
            if isinstance(req, Event):
                if req.fired:
                    continue        # already happened: go on at once
                req.waiters.append((gen, prio))
                return
            if req <= 0:
                continue
            self._push(self.now + int(req), prio, ("proc", gen, prio))
            return
