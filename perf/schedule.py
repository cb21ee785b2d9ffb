"""The cycle model proper: the FSM schedules of `rtl/top.py`'s two sequencers, the speculation
unit (`rtl/speculation/unit.py`) and the execution unit (`rtl/execution/unit.py`) as processes of a
discrete-event model, one event per fetched row, projected token, MRSA round, K/V row and query
row, so an L = 1024 SmolLM2 layer takes well under a second. Production jobs (CTRL.trace = 0),
memory answering as the C++ harness's does (one cycle after an address, one word a cycle, no
stalls).

The MRSA rounds follow `rtl.speculation.lapa_predictor` cycle for cycle (checked row by row against an
Amaranth simulation of the predictor): the DDF hands a round's survivors on as its scan reaches
them, so the next round's feed depends on where in the list they sit (`Profile.positions`).
The execution unit's rows (Q_PROJ, SCORE fed by the mask unpacker, softmax, the A.V hand-off)
follow `rtl.execution.unit` and `rtl.common.mask_codec.MaskUnpacker` cycle for cycle (checked row by row
against an Amaranth simulation of the two): the unpacker runs ahead of the unit, so a row's
keys cost what their spread over the row's bus words costs (`key_stream`).
Where the model approximates the RTL (the rest follows its state machines cycle for cycle):
- the mask packer is taken as never holding the `kept` stream back (it takes a key a cycle and
  spends a cycle per bus word of the row: only rows shorter than ceil(L / 64) keys could wait);
- the result writer is taken as never busy (mask and o rows; it holds two rows per source).
"""

from __future__ import annotations

import numpy as np

from .exact import pre_head
from .fetch import Fetcher, Transfer
from .kernel import Kernel

__all__ = ["Latency", "simulate", "mrsa_rows", "list_spans", "key_stream"]

BUS_BYTES = 8


class Latency:
    """Pipeline latencies in cycles (from the RTL; see the test's comparison with the harness)."""
    x_first = 3        # a fetched x word to the speculation unit's first load_x byte (FIFO, resize)
    w_done = 2         # last weight word leaves the reader -> W_WAIT sees the count
    drain = 5          # last PEA beat issued -> every q_hat / k_hat row stored
    row_in = 6         # a token's last PEA beat issued -> its row's first candidate load, at the earliest
    row_gap = 4        # a row's last candidate loaded -> the next row's first, beyond its CH chunks
                       # (s1 drains, load_q, capture_q)
    peb_out = 2        # a key's last chunk issued -> its score in the DDF (stage s1, PEB register)
    ddf_take = 1       # a list's last score in -> the DDF's emit side may take it (c_done)
    ddf_emit = 2       # the emit side takes a list -> a survivor read at list position p goes out
                       # at take + ddf_emit + p + 1 (threshold, read; held until the next is found)
    ddf_idle = 3       # list of m taken -> the emit side may take the next at take + ddf_idle + m + 1
    fifo = 2           # survivor out of the DDF -> the feeder may load it (SyncFIFOBuffered)
    mask_ack = 12      # a row's final survivor -> its mask row acknowledged by the memory
    load_done = 2      # last x / w word -> execution unit leaves LOAD / Q_LOAD
    proj = 6           # projection of IC x JT beats: started -> p_done (MAC, requant, rotator)
    kv_next = 1        # KVControl register -> next K projection
    mask_in = 2        # mask word leaves the reader -> the unpacker may load it (credit FIFO)
    score = 1          # last key taken -> last probability out: score + softmax + 2n cycles
    softmax = 23       # (MAC, COLLECT, EXP 3-stage, DIV 18, OUT; measured in an Amaranth simulation of the unit)
    av = 4             # A.V: last beat -> last o chunk out (PE, two-stage requant)
    o_ack = 9          # last o chunk -> row acknowledged (exec_quiet)
    pre_next = 2       # pre-phase wq: last word taken -> the sequencer asks for the next head's
    union_scan = 2     # exact predictors: last kept beat -> the KeyUnion scans key 0
    finish = 3         # execution side done -> irq


def list_spans(positions, n, m, CH):
    """Per query row, when the feeder can have loaded the last of a round's n survivors, counted
    from the DDF taking the round's list of m: W = max(m, max_{i >= 1} p_i + (n - i) * CH) cycles
    (plus the fixed latencies), p_i the list position of survivor i (the DDF sends survivor i - 1
    when it reads survivor i, the last one after the scan; the feeder takes one every CH cycles)."""
    n = np.asarray(n, dtype=np.int64)
    if positions is None or len(positions) != int(n.sum()):
        raise ValueError("the profile has no survivor positions for this round (Profile.positions)")
    ptr = np.concatenate([[0], np.cumsum(n)])
    rank = np.arange(len(positions), dtype=np.int64) - np.repeat(ptr[:-1], n)
    val = np.asarray(positions, dtype=np.int64) - rank * CH
    val[rank == 0] = np.iinfo(np.int64).min // 4              # survivor 0 leaves when 1 is found
    z = np.maximum.reduceat(val, ptr[:-1]) + n * CH          # every row has a survivor (its max)
    return np.maximum(np.asarray(m, dtype=np.int64), z)


def key_stream(mask, mw, QC):
    """The mask unpacker (`rtl.common.mask_codec.MaskUnpacker`) feeding the execution unit's SCORE state,
    per query row of one head's [L, L] mask: (w_0, lead, rest). The unpacker loads a word in a
    cycle, takes a set bit a cycle and spends one more cycle at each word's end; it holds one key
    back (`pending`) and sends it while taking the next bit, the last at the row's end, and its
    `valid` is low while it walks to another word. SCORE takes a key after QC valid cycles. With
    g_i the words between key i-1 and key i (g_n: from the last key to the row's last word),
    key 0 enters `pending` at load + 1 + 2 w_0, is taken at max(SCORE start + QC - 1,
    that + lead), lead = QC + 2 g_1, and the last key rest = sum_{i >= 2} (QC + 2 g_i) later."""
    L = mask.shape[0]
    rows, keys = np.nonzero(mask)
    w = (keys >> 6).astype(np.int64)
    n = np.bincount(rows, minlength=L)
    ptr = np.concatenate([[0], np.cumsum(n)])
    nxt = np.empty_like(w)
    nxt[:-1] = w[1:]
    nxt[ptr[1:] - 1] = mw - 1                    # after a row's last key: its remaining words
    term = QC + 2 * (nxt - w)
    first = ptr[:-1]
    lead = term[first]
    return w[first].tolist(), lead.tolist(), (np.add.reduceat(term, first) - lead).tolist()


def mrsa_rows(profile, h, CH, first_load, lat=Latency, row_ready=None):
    """The cycle of each row's last `kept` beat (a list, row by row) of head h: its MRSA rounds
    from the first candidate load at `first_load` (`rtl.speculation.lapa_predictor`'s feeder, PEB and DDF,
    `kept` always ready); `row_ready[t]`, when given, the earliest first load of row t (its rows
    stored: the predictor works beside the projector)."""
    R = profile.n_rounds
    cands, nn = profile.cands[h], profile.nnz[h]
    L = len(nn)
    sizes = [cands[r] for r in range(R)] + [nn]              # |C_1| .. |C_R|, kept
    if R > 1 and len(profile.positions) <= h:
        raise ValueError("the profile has no survivor positions (Profile.positions)")
    spans = [list_spans(profile.positions[h][r], sizes[r + 1], sizes[r], CH).tolist() for r in range(R - 1)]
    sizes = [np.asarray(c).tolist() for c in sizes]
    x = first_load                    # the row's first candidate load
    emit_idle = x                     # the DDF's emit side may take a list from
    kept = []
    for t in range(L):
        if row_ready is not None:
            x = max(x, row_ready[t])
        m = sizes[0][t]
        xlast = x + (m - 1) * CH      # round 1 from the counter, a candidate every CH cycles
        for r in range(R):
            take = max(xlast + CH + lat.peb_out + lat.ddf_take, emit_idle)
            emit_idle = take + lat.ddf_idle + m + 1
            if r == R - 1:            # final round: survivors out on `kept`
                kept.append(take + lat.ddf_emit + m + 1)
                break
            n = sizes[r + 1][t]       # the next round's candidates, from the FIFO
            xlast = max(xlast + CH + 1 + (n - 1) * CH,                 # one idle cycle between rounds
                        take + lat.ddf_emit + 1 + lat.fifo + spans[r][t])
            m = n
        x = xlast + CH + lat.row_gap
    return kept


def simulate(profile, hw, lat=Latency):
    """{'cycles_total', 'cycles_spec', 'cycles_exec', 'cycles_stall', per-unit busy spans, ...}."""
    from lapa.memlayout import MemoryLayout

    L, D, dh, H, Hkv = profile.shape
    grp = H // Hkv
    spec_on = profile.n_rounds > 0
    exact = profile.predictor in ("sanger", "topk")     # the unit's pre-phase feeds the predictor
    masked = spec_on or exact                            # mask rows written, then read back
    k = Kernel()
    f = Fetcher(k)
    lay = MemoryLayout(L, D, dh, H, Hkv, bus_bytes=BUS_BYTES)
    G = dh // hw.pea_lanes
    CH = dh // hw.peb_lanes
    IC, JT = D // hw.mac_cols, dh // hw.mac_rows
    QC = dh // (hw.mac_rows * hw.mac_cols)
    AC = dh // hw.av_lanes
    mw = (L + 63) // 64                      # bus words per mask row
    # rows of mask words the unpacker's credit FIFO holds (rtl/top.py: 2 * (max_seq_len // 64 + 1) words)
    mask_rows = max(1, 2 * (hw.max_seq_len // 64 + 1) // mw)
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
    pre_ask = [[k.event() for _ in range(grp)] for _ in range(Hkv)]     # pre-phase: unit in its WQ
    pre_tr = [[None] * grp for _ in range(Hkv)]
    pre_posted = [[k.event() for _ in range(grp)] for _ in range(Hkv)]
    spec_free = [0]                                      # the slot's predictor idle from (exact)

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
        spec_free[0] = k.now + 1
        if exact:                # its jobs follow the execution unit's pre-phase (exec_pre)
            spec_done_all.fire()
            return
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
        yield 1                                           # idle -> wait_x
        n_groups = 2 * G if j == 0 else G

        def load(t, earliest):
            """Token t's x row into its bank: D values a cycle each from the later of `earliest`
            and its first byte; the cycle of its last value (the FIFO row is free after it)."""
            yield x.first(t)
            s = max(earliest, x.first(t).time + lat.x_first)
            released[t].fire(at=s + D)
            return s + D - 1

        c = yield from load(0, k.now)
        ps = c + 2                                        # full seen in wait_x, then pass
        ends = []                                         # each token's last pass cycle
        for t in range(L):
            if ps > k.now:
                yield ps - k.now
            e = ps + n_groups * D - 1
            if t + 1 < L:                                 # the next row loads during the passes,
                # into the bank token t - 1 left (free the cycle after its last pass)
                c = yield from load(t + 1, max(c + 1, ends[-1] + 1) if ends else c + 1)
                ps = e + 1 if c <= e else c + 2
            ends.append(e)
            if e + 1 > k.now:
                yield e + 1 - k.now
        yield lat.drain
        t_pass = k.now
        # MRSA rounds, row by row (scalar recursions, no events), each from its rows stored:
        # load_q sees `stored` past the row lat.row_in cycles after its last PEA beat
        if j == 0 and not profile.causal:
            ready = [ends[-1] + lat.row_in] * L            # every k_hat row first
        else:
            ready = [e + lat.row_in for e in ends]
        last_kept = mrsa_rows(profile, h, CH, t0 + 4, lat, row_ready=ready)[-1]
        done_at = last_kept + 1                           # `finish` sees rows_done = seq_len
        if done_at > k.now:
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
            for j in range(grp if exact else 0):          # PRE_WQ / PRE_NEXT
                yield pre_ask[g][j]
                yield from wait_idle("exec")
                tr = pre_tr[g][j] = f.post("exec", Transfer(k, "wq", head_bytes("wq", g * grp + j), D,
                                                            dh // BUS_BYTES, dh))
                pre_posted[g][j].fire()
                yield 1
                yield tr.done(D - 1)
                yield lat.pre_next
            if masked:
                yield masks_done[g]
            yield 1
            for j in range(grp):
                h = g * grp + j
                yield wq_ask[g][j]
                yield from wait_idle("exec")
                wq_tr[g][j] = f.post("exec", Transfer(k, "wq", head_bytes("wq", h), D, dh // BUS_BYTES, dh))
                wq_posted[g][j].fire()
                yield 1
                if masked:
                    yield from wait_idle("exec")
                    mrel = mask_release[(g, j)] = [k.event() for _ in range(L)]
                    mask_tr[g][j] = f.post("exec", Transfer(
                        k, "mask", lay["mask"].addr + h * L * lay["mask"].stride, L, mw, lay["mask"].stride,
                        credit=lambda r, mrel=mrel: mrel[r - mask_rows] if r >= mask_rows else None))
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
            if exact:
                yield from exec_pre(g)
            # KV: one K and one V projection per needed key (V only after a pre-phase)
            nkeys = int(profile.key_needed[g].sum())
            ev = slot_free.setdefault((g, 0), k.event())
            ev.fire()
            for i in range(nkeys):
                item = kv_item.setdefault((g, i), k.event())
                yield item
                yield lat.kv_next
                yield (1 if exact else 2) * (IC * JT + lat.proj)
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

    def exec_pre(g):
        """PRE: k of every token, then per head its wq and q rows into the predictor's jobs."""
        P = IC * JT + lat.proj
        yield L * P                                       # K rows back to back
        sizes = [t + 1 for t in range(L)] if profile.causal else [L] * L
        for j in range(grp):
            pre_ask[g][j].fire()                          # WQ: wq_buf cleared, load_q
            yield pre_posted[g][j]
            tr = pre_tr[g][j]
            yield tr.done(tr.rows - 1)
            yield lat.load_done
            job_start = spec_free[0]
            done, kept_last = pre_head(profile.predictor, k.now, job_start, sizes, P, CH, QC,
                                       profile.topk_k, profile.passes)
            stat["cycles_spec"] += kept_last + 1 - job_start
            spec_free[0] = kept_last + 1
            if j == grp - 1:
                masks_done[g].fire(at=kept_last + lat.mask_ack)
                k.spawn(union_scan(g, kept_last + 1), at=kept_last + lat.union_scan)
            yield done - k.now
        yield 1                                           # pre.done -> KV_WAIT

    def union_scan(g, busy_end):
        """The slot's KeyUnion scan of the group's key_needed (its last job's tail)."""
        yield from needed_scan(g)
        stat["cycles_spec"] += k.now + 1 - busy_end
        spec_free[0] = k.now + 1

    av_free = [0]
    unpacker_free = [0]                                  # the mask unpacker may load a row's first word

    def exec_rows(g, j, h):
        mt = None
        if masked:
            yield mask_posted[g][j]
            mt = mask_tr[g][j]
            first_word, lead, rest = key_stream(profile.mask[h], mw, QC)
        rel = mask_release.get((g, j))
        n_row = nnz[h]
        for t in range(L):
            yield IC * JT + lat.proj                      # Q_PROJ (row t's q)
            yield 1                                       # -> SCORE
            n = int(n_row[t])
            score_start = k.now
            if mt is not None:
                # the unpacker runs ahead of the unit: it loads row t's words as soon as it has
                # sent row t-1's last key, and holds row t's first key until SCORE takes it
                yield mt.first(t)
                load = max(unpacker_free[0], mt.first(t).time + lat.mask_in)
                found = load + 1 + 2 * int(first_word[t])   # first key into the pending register
                taken = max(score_start + QC - 1, found + int(lead[t])) + int(rest[t])
                unpacker_free[0] = taken + 1
                if rel is not None:
                    rel[t].fire(at=taken + 1)             # every word of the row popped by then
            else:                                         # dense: C_1's keys back to back
                taken = score_start + n * QC - 1
            yield taken + lat.score + 2 * n + lat.softmax - k.now   # last probability out
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
