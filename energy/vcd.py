"""Toggle counts and duty per bit of every variable of a VCD file, over a time window.

pywellen (pinned) reads VCD and FST, but its Python API (0.25.7) streams changes with opaque
signal ids that cannot be told apart, so the counts come from this small VCD reader instead
(Icarus writes VCD). A change from or to x / z is not a toggle; an x bit counts as low for the
duty. Values before the window set the state at its start but are not counted.
"""

from __future__ import annotations

from typing import NamedTuple

from lapa.errors import UserError

__all__ = ["BitActivity", "read_activity"]


class BitActivity(NamedTuple):
    """`toggles[name][bit]` and `high[name][bit]` (time high in the window), per variable
    `name` (scope path joined by '.', the variable's name as written, e.g. `top.spec.pea._12_`)
    and bit (index within the declared range); `span` the window length in time units and
    `timescale_s` one time unit in seconds."""

    toggles: dict
    high: dict
    lsb: dict
    span: int
    timescale_s: float
    handshakes: dict


_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


def _parse_header(f, path):
    scope, ids, timescale = [], {}, 1e-9
    pending_ts = False
    for line in f:
        words = line.split()
        if not words:
            continue
        if pending_ts:
            timescale = _timescale(" ".join(words).replace("$end", ""), path)
            pending_ts = False
        if words[0] == "$timescale":
            rest = " ".join(words[1:]).replace("$end", "").strip()
            if rest:
                timescale = _timescale(rest, path)
            else:
                pending_ts = True
        elif words[0] == "$scope":
            scope.append(words[2])
        elif words[0] == "$upscope":
            scope.pop()
        elif words[0] == "$var":
            width, code, name = int(words[2]), words[3], words[4]
            lsb = 0
            if len(words) > 6 and words[5].startswith("["):
                rng = words[5].strip("[]").split(":")
                lsb = min(int(rng[0]), int(rng[-1]))
            ids.setdefault(code, []).append((".".join(scope + [name]), width, lsb))
        elif words[0] == "$enddefinitions":
            return ids, timescale
    raise UserError(f"{path}: not a VCD file (no $enddefinitions)")


def _timescale(text, path):
    text = text.strip()
    num = "".join(c for c in text if c.isdigit()) or "1"
    unit = text[len(num):].strip() if text.startswith(num) else text.lstrip("0123456789").strip()
    if unit not in _UNITS:
        raise UserError(f"{path}: unknown VCD timescale {text!r}")
    return int(num) * _UNITS[unit]


def read_activity(path, t0=0, t1=None, clock=None, handshakes=None):
    """Per-bit toggles and time high of every variable in [t0, t1) (t1 None: the end).

    `handshakes` ({name: (var, var, ...)} of one-bit variables) counts the rising edges of
    `clock` in the window at which every listed variable was 1 just before the edge (a
    valid / ready transfer)."""
    return read_windows(path, [(t0, t1)], clock, handshakes)[0]


class _Window:
    def __init__(self, t0, t1, ids, width, hs):
        self.t0, self.t1 = t0, t1
        self.since = {c: [t0] * width[c] for c in ids}
        self.tog = {c: [0] * width[c] for c in ids}
        self.high = {c: [0] * width[c] for c in ids}
        self.counts = {h: 0 for h in hs}
        self.end = None


def read_windows(path, windows, clock=None, handshakes=None):
    """`read_activity` of several windows [(t0, t1), ...] in one pass over the file."""
    try:
        f = open(path, errors="replace")
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    with f:
        ids, timescale = _parse_header(f, path)
        width = {c: v[0][1] for c, v in ids.items()}
        value = {c: 0 for c in ids}          # current value (x bits as 0)
        known = {c: 0 for c in ids}          # bits with a 0/1 value
        by_name = {n: c for c, names in ids.items() for n, _, _ in names}
        hs = {}
        for hname, names in (handshakes or {}).items():
            missing = [n for n in names if n not in by_name]
            if missing:
                raise UserError(f"{path}: no variable {missing[0]!r} (handshake {hname})")
            hs[hname] = [by_name[n] for n in names]
        if hs and clock not in by_name:
            raise UserError(f"{path}: no clock variable {clock!r}")
        clk = by_name.get(clock)
        watched = sorted({c for codes in hs.values() for c in codes})
        pre = {c: 0 for c in watched}
        wins = [_Window(t0, t1, ids, width, hs) for t0, t1 in windows]
        active = [w for w in wins if w.t0 <= 0 and (w.t1 is None or w.t1 > 0)]
        t = 0

        def close(w, at):
            for code in ids:
                val, hi, sn = value[code], w.high[code], w.since[code]
                b = 0
                while val:
                    if val & 1:
                        hi[b] += at - sn[b]
                    val >>= 1
                    b += 1
            w.end = at

        def change(code, val, kn):
            old, oldk = value[code], known[code]
            if code == clk and val & 1 and not old & 1:
                for w in active:
                    for h, codes in hs.items():
                        if all(pre[c] & 1 for c in codes):
                            w.counts[h] += 1
            diff = (old ^ val) | (oldk ^ kn)
            if not diff:
                return
            for w in active:
                tg, hi, sn = w.tog[code], w.high[code], w.since[code]
                d = diff
                b = 0
                while d:
                    if d & 1:
                        if (old >> b) & 1:
                            hi[b] += t - sn[b]
                        sn[b] = t
                        if (oldk >> b) & (kn >> b) & 1:
                            tg[b] += 1
                    d >>= 1
                    b += 1
            value[code], known[code] = val, kn

        for line in f:
            c0 = line[:1]
            if c0 == "#":
                for c in watched:
                    pre[c] = value[c]
                t = int(line[1:])
                changed = False
                for w in wins:
                    if w.end is None and w.t1 is not None and t >= w.t1 and (w in active or w.t0 < w.t1):
                        if w in active:
                            close(w, w.t1)
                        else:   # a window with no change at all inside it
                            w.since = {c: [w.t0] * width[c] for c in ids}
                            close(w, w.t1)
                        changed = True
                    elif w.end is None and w not in active and w.t0 <= t:
                        changed = True
                if changed:
                    active = [w for w in wins if w.end is None and w.t0 <= t]
                if all(w.end is not None for w in wins):
                    break
            elif c0 in "01":
                code = line[1:].rstrip()
                if code in value:
                    change(code, 1 if c0 == "1" else 0, 1)
            elif c0 in "xXzZ":
                code = line[1:].rstrip()
                if code in value:
                    change(code, 0, 0)
            elif c0 in "bB":
                bits, code = line[1:].split()
                if code in value:
                    w_ = width[code]
                    bits = bits.rjust(w_, "0" if bits[0] in "01" else bits[0])[-w_:]
                    val = int(bits.replace("x", "0").replace("X", "0").replace("z", "0")
                              .replace("Z", "0"), 2)
                    kn = int("".join("0" if ch in "xXzZ" else "1" for ch in bits), 2)
                    change(code, val, kn)
        for w in wins:
            if w.end is None:
                close(w, t if w.t1 is None else w.t1)
    out = []
    for w in wins:
        toggles, highs, lsbs = {}, {}, {}
        for code, names in ids.items():
            for name, _, lsb in names:
                toggles[name], highs[name], lsbs[name] = w.tog[code], w.high[code], lsb
        out.append(BitActivity(toggles, highs, lsbs, max(w.end - w.t0, 0), timescale, w.counts))
    return out
