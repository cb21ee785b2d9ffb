"""The cycle model proper: the FSM schedules of `rtl/top.py`'s two sequencers, the speculation
unit (`rtl/speculation.py`) and the execution unit (`rtl/execution.py`) as processes of a
discrete-event model, one event per fetched row, projected token, MRSA round, K/V row and query
row, so an L = 1024 SmolLM2 layer takes well under a second. Production jobs (CTRL.trace = 0),
memory answering as the C++ harness's does (one cycle after an address, one word a cycle, no
stalls).

Where the model approximates the RTL (the rest follows its state machines cycle for cycle):
- the DDF hands a round's survivors on as its scan finds them: the model spreads them evenly
  over the scan (the RTL's order depends on where in the list they sit);
- the mask unpacker's key rate per row is `nnz + 2 per bus word`;
- the result writer is taken as never busy (mask and o rows; it holds two rows per source).
"""

from __future__ import annotations

import math

from .fetch import Fetcher, Transfer
from .kernel import Kernel

__all__ = ["Latency", "simulate"]

BUS_BYTES = 8


class Latency:
    """Pipeline latencies in cycles (from the RTL; see the test's comparison with the harness)."""
    x_first = 3        # a fetched x word to the speculation unit's first load_x byte (FIFO, resize)
    w_done = 2         # last weight word leaves the reader -> W_WAIT sees the count
    drain = 5          # last PEA beat issued -> every q_hat / k_hat row stored
    row_gap = 3        # last PEB chunk of a row -> first chunk of the next row (load_q, capture_q)
    peb_out = 2        # chunk issued -> its score in the DDF (stage s1, PEB register)
    ddf_start = 2      # list collected -> first entry examined (idle, threshold)
    fifo = 2           # survivor found -> feeder can load it (pend register, FIFO)
    mask_ack = 12      # a row's final survivor -> its mask row acknowledged by the memory
    load_done = 2      # last x / w word -> execution unit leaves LOAD / Q_LOAD
    proj = 6           # projection of IC x JT beats: started -> p_done (MAC, requant, rotator)
    kv_next = 1        # KVControl register -> next K projection
    mask_first = 4     # mask word leaves the reader -> first key out of the unpacker
    score = 3          # last key taken -> its score into the softmax
    softmax = 23       # last score in -> last probability out, beyond 2n (EXP 3-stage, DIV 18, OUT)
    av = 4             # A.V: last beat -> last o chunk out
    o_ack = 9          # last o chunk -> row acknowledged (exec_quiet)
    finish = 3         # execution side done -> irq


def simulate(profile, hw, lat=Latency):
    """{'cycles_total', 'cycles_spec', 'cycles_exec', 'cycles_stall', per-unit busy spans, ...}."""
    from lapa.memlayout import MemoryLayout

    L, D, dh, H, Hkv = profile.shape
    grp = H // Hkv
    spec_on = profile.n_rounds > 0
    k = Kernel()
    f = Fetcher(k)
    lay = MemoryLayout(L, D, dh, H, Hkv, bus_bytes=BUS_BYTES)
    G = dh // hw.pea_lanes
    CH = dh // hw.peb_lanes
    IC, JT = D // hw.mac_cols, dh // hw.mac_rows
    QC = dh // (hw.mac_rows * hw.mac_cols)
    AC = dh // hw.av_lanes
    mw = (L + 63) // 64                      # bus words per mask row
    nnz = profile.nnz
    stat = {"cycles_spec": 0, "cycles_exec": 0, "spec_end": 0, "exec_start": None}

    def head_bytes(name, h):
        return lay[name].addr + h * D * dh

    # ---- shared state between the processes
    masks_done = [k.event() for _ in range(Hkv)]         # a group's mask rows acknowledged
    clear = [k.event() for _ in range(Hkv)]              # execution unit in START of group g
    slot_free = {}                                       # KVControl register free (per key)
    kv_item = {}                                         # key handed to the execution unit
    wq_ask = [[k.event() for _ in range(grp)] for _ in range(Hkv)]   # unit in Q_LOAD
    wq_tr = [[None] * grp for _ in range(Hkv)]
    wq_posted = [[k.event() for _ in range(grp)] for _ in range(Hkv)]
    mask_tr = [[None] * grp for _ in range(Hkv)]
    mask_posted = [[k.event() for _ in range(grp)] for _ in range(Hkv)]
    x_tr, wk_tr, wv_tr = [None] * Hkv, [None] * Hkv, [None] * Hkv
    load_posted = [k.event() for _ in range(Hkv)]
    exec_done = [k.event() for _ in range(Hkv)]          # unit left DRAIN (not busy)
    exec_quiet = [k.event() for _ in range(Hkv)]
    job_done = k.event()
    spec_done_all = k.event()

    def wait_idle(side):
        tr = f.slot[side]
        if tr is not None and tr.next < tr.rows:
            yield tr.idle
        elif tr is not None and tr.idle.time is not None and tr.idle.time > k.now:
            yield tr.idle.time - k.now

    # ---- the job: RoPE table, then both sides
    start_sides = k.event()

    def job():
        yield 1                                           # IDLE -> ROPE
        if profile.rope:
            tr = f.post("spec", Transfer(k, "rope", lay["rope"].addr, L, 2 * dh // BUS_BYTES,
                                         lay["rope"].stride))
            yield tr.done(L - 1)
            yield 3                                       # widen, rope_count, ROPE_WAIT
        else:
            yield 1
        start_sides.fire()

    # ---- speculation side (spec_side FSM + the unit)
    def spec_side():
        yield start_sides
        yield 1                                           # IDLE -> WQ
        for g in range(Hkv):
            for j in range(grp):
                h = g * grp + j
                if not spec_on:          # dense: no prediction; key_needed is every key of C_1
                    if j == grp - 1:
                        yield from needed_scan(g)
                    continue
                yield from wait_idle("spec")
                tr_w = f.post("spec", Transfer(k, "spec_w", head_bytes("wq_lo", h), D, dh // BUS_BYTES, dh))
                last = tr_w
                yield 1                                   # -> WK
                if j == 0:
                    yield tr_w.idle
                    if tr_w.idle.time >= k.now:
                        yield 0
                    yield from wait_idle("spec")
                    last = f.post("spec", Transfer(k, "spec_w", head_bytes("wk_lo", g), D, dh // BUS_BYTES, dh))
                yield 1                                   # -> W_WAIT
                yield last.done(D - 1)
                yield lat.w_done                          # count reached -> START
                yield from spec_unit(g, j, h)
        spec_done_all.fire()

    def spec_unit(g, j, h):
        t0 = k.now                                        # START: spec.start, x rows issued
        released = [k.event() for _ in range(L)]
        x = f.post("spec", Transfer(k, "spec_x", lay["x"].addr, L, D // BUS_BYTES, lay["x"].stride,
                                    credit=lambda r: released[r - 2] if r >= 2 else None))
        yield 1                                           # idle -> load_x
        n_groups = 2 * G if j == 0 else G
        for t in range(L):
            yield x.first(t)
            ready = x.first(t).time + lat.x_first
            if ready > k.now:
                yield ready - k.now
            yield D                                       # load_x
            released[t].fire()
            yield n_groups * D                            # pass
        yield lat.drain
        t_pass = k.now
        # MRSA rounds, row by row (scalar recursions, no events)
        now = k.now
        emit_free = now                                   # DDF emit side idle from
        collect_free = now                                # DDF collect side may take a list
        feed = now
        R = profile.n_rounds
        cands = profile.cands[h]
        nn = nnz[h]
        last_emit = now
        for t in range(L):
            feed += 1                                     # load_q / capture_q
            n0 = int(cands[0, t])
            start = max(feed, collect_free - 0)
            feed_end = start + n0 * CH                    # last chunk issued
            coll_end = feed_end + lat.peb_out
            m_prev = n0
            for r in range(1, R + 1):
                e0 = max(coll_end, emit_free) + lat.ddf_start
                collect_free = e0 - lat.ddf_start + 1
                n = int(cands[r, t]) if r < R else int(nn[t])
                scan_end = e0 + m_prev + 1
                if r == R:                                # final round: survivors to `kept`
                    emit_free = scan_end + 1
                    last_emit = scan_end
                    break
                emit_free = scan_end + 1
                a = m_prev / n
                first = e0 + lat.fifo + 1.5 * a
                lastf = max(first + (n - 1) * CH, scan_end + lat.fifo)
                feed_start_r = max(feed_end + 1, first)
                lastf = max(lastf, feed_start_r + (n - 1) * CH)
                feed_end = int(math.ceil(lastf)) + CH
                coll_end = feed_end + lat.peb_out
                m_prev = n
            feed = feed_end + lat.row_gap - 1
        done_at = max(last_emit + 2, feed)
        yield done_at - k.now
        t_rows = k.now
        if j == grp - 1:
            masks_done[g].fire(at=k.now + lat.mask_ack)
            yield 1                                       # finish -> needed
            yield from needed_scan(g)
        stat["cycles_spec"] += k.now - t0
        stat.setdefault("phases", []).append((h, t0, t_pass - t0, t_rows - t_pass, k.now - t_rows))
        stat["spec_end"] = k.now
        yield 1                                           # WAIT -> next head

    def needed_scan(g):
        keys = [int(s) for s in profile.key_needed[g].nonzero()[0]]
        prev = -1
        for i, s in enumerate(keys):
            yield s - prev - 1                            # absent keys: a cycle each
            ev = slot_free.get((g, i))
            if ev is None:
                ev = slot_free[(g, i)] = k.event()
            yield ev
            item = kv_item.setdefault((g, i), k.event())
            item.fire(at=k.now + 1)
            prev = s
            if i + 1 < len(keys):
                yield 1
        if not keys:
            return

    # ---- execution side (exec_side FSM)
    def exec_side():
        yield start_sides
        yield 1
        for g in range(Hkv):
            yield from wait_idle("exec")
            x_tr[g] = f.post("exec", Transfer(k, "exec_x", lay["x"].addr, L, D // BUS_BYTES, lay["x"].stride))
            yield 1
            yield from wait_idle("exec")
            wk_tr[g] = f.post("exec", Transfer(k, "wk", head_bytes("wk", g), D, dh // BUS_BYTES, dh))
            yield 1
            yield from wait_idle("exec")
            wv_tr[g] = f.post("exec", Transfer(k, "wv", head_bytes("wv", g), D, dh // BUS_BYTES, dh))
            load_posted[g].fire()
            yield 1
            if spec_on:
                yield masks_done[g]
            yield 1
            for j in range(grp):
                h = g * grp + j
                yield wq_ask[g][j]
                yield from wait_idle("exec")
                wq_tr[g][j] = f.post("exec", Transfer(k, "wq", head_bytes("wq", h), D, dh // BUS_BYTES, dh))
                wq_posted[g][j].fire()
                yield 1
                if spec_on:
                    yield from wait_idle("exec")
                    mrel = mask_release[(g, j)] = [k.event() for _ in range(L)]
                    mask_tr[g][j] = f.post("exec", Transfer(
                        k, "mask", lay["mask"].addr + h * L * lay["mask"].stride, L, mw, lay["mask"].stride,
                        credit=lambda r, mrel=mrel: mrel[r - 2] if r >= 2 else None))
                    mask_posted[g][j].fire()
                    yield 1
                    yield from wait_idle("exec")
                yield 1
            yield exec_done[g]
            yield exec_quiet[g]
            yield 1
        yield 1
        job_done.fire()

    mask_release = {}

    # ---- the execution unit
    def exec_unit():
        yield start_sides
        yield 1
        for g in range(Hkv):
            clear[g].fire()
            yield 1                                       # START -> LOAD
            yield load_posted[g]
            for tr in (x_tr[g], wk_tr[g], wv_tr[g]):
                yield tr.done(tr.rows - 1)
            # busy from the first beat in (x, wk or wv, whichever came first)
            busy_from = min(tr.taken[0] for tr in (x_tr[g], wk_tr[g], wv_tr[g])) + 2
            yield lat.load_done
            # KV: one K and one V projection per needed key
            nkeys = int(profile.key_needed[g].sum())
            ev = slot_free.setdefault((g, 0), k.event())
            ev.fire()
            for i in range(nkeys):
                item = kv_item.setdefault((g, i), k.event())
                yield item
                yield lat.kv_next
                yield 2 * (IC * JT + lat.proj)
                nxt = slot_free.setdefault((g, i + 1), k.event())
                nxt.fire()
            yield 1
            for j in range(grp):
                h = g * grp + j
                wq_ask[g][j].fire()                       # Q_LOAD
                yield wq_posted[g][j]
                tr = wq_tr[g][j]
                yield tr.done(tr.rows - 1)
                yield lat.load_done
                yield from exec_rows(g, j, h)
            # DRAIN: the last A.V
            exec_done[g].fire()
            exec_quiet[g].fire(at=k.now + lat.o_ack)
            stat["cycles_exec"] += k.now - busy_from
            yield 1

    av_free = [0]

    def exec_rows(g, j, h):
        mt = None
        if spec_on:
            yield mask_posted[g][j]
            mt = mask_tr[g][j]
        rel = mask_release.get((g, j))
        n_row = nnz[h]
        for t in range(L):
            yield IC * JT + lat.proj                      # Q_PROJ (row t's q)
            yield 1                                       # -> SCORE
            n = int(n_row[t])
            if mt is not None:
                yield mt.first(t)
                ready = mt.first(t).time + lat.mask_first
                if ready > k.now:
                    yield ready - k.now
                keys = max(n * QC, n + 2 * mw - 1)
            else:
                keys = n * QC
            yield keys + lat.score
            if rel is not None:
                rel[t].fire()
            yield 2 * n + lat.softmax                     # softmax EXP, DIV, OUT
            # HANDOFF: wait for the previous row's A.V
            if av_free[0] > k.now:
                yield av_free[0] - k.now
            av_free[0] = k.now + 1 + AC * n + lat.av
            yield 1
        if av_free[0] > k.now:
            yield av_free[0] - k.now

    k.spawn(job())
    k.spawn(spec_side())
    k.spawn(exec_side())
    k.spawn(exec_unit())
    k.run()
    total = job_done.time + lat.finish if job_done.fired else None
    return {"cycles_total": total, "cycles_spec": stat["cycles_spec"], "cycles_exec": stat["cycles_exec"],
            "cycles_stall": f.bursts, "phases": stat.get("phases", []), "axi_read_bytes": f.words * BUS_BYTES, "read_bytes_by": f.by_dest}
