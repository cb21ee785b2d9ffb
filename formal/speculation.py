"""The speculation unit's list invariants: why the DDF's input rows hold at most max_seq_len
candidates, proved (asserted) inside the unit's stream proof instead of assumed.

Every round list the LapaPredictor builds is ascending in key index and ends with `last`: round
1's list is C_1 = 0..n1-1 from the feeder's counter (n1 <= seq_len), a later round's the DDF's
survivors of the one before, in input order, through the candidate FIFO. So the k-th candidate
of a list has idx >= k, every idx is < seq_len, and a candidate with idx = seq_len - 1 is its
list's last: the DDF never takes an L-th candidate without `last` (its row bound, the
environment of the list lemma `formal.ddf.ddf_list_checks`).

Stated as k-induction invariants over every candidate in flight, in the order they will reach
the DDF's collect side (oldest first): the collect bank's newest entry (C, its `last` being
c_done), the PEB's output (P), stage 1's beat on a key's last chunk (S), the feeder's `cur` (K),
then the source of the list being fed: round 1's counter `seq` (standing for seq..n1-1, which
ends with `last`), or the candidate FIFO's entries (its output register, then its storage from
`consume`) followed, while the DDF emits a non-final round, by the DDF's held `o` beat, its
pending survivor and its bank from `pos` (the survivors to come are among those entries):
- chain: two neighbours present (nothing between them) are apart by a `last` or ascend;
- each present candidate: idx < seq_len, and idx = seq_len - 1 only with `last`;
- closed: the newest candidate present before the source is a list's last, or a source follows;
- the list being fed has no `last` but on its newest candidate (K, the FIFO), the FIFO and a
  non-final DDF list only in round >= 2's feed;
- both DDF banks ascending (the collect bank over c_count entries, its newest >= c_count - 1;
  the emit bank over e_count entries, < seq_len);
- the FIFO's pointers agree with its level (SyncFIFOBuffered's own formal checks, which it adds
  only for platform "formal").
The buffers are read through extra asynchronous read ports at fixed addresses (the harness's
own; the hardware is unchanged).
"""

from amaranth.hdl import Array, Cat, Const, Mux, unsigned, signed
from amaranth.lib import data

from .harness import named

__all__ = ["spec_list_checks"]


class _Item:
    """A candidate in flight: `present`, its key index, `last` (its list ends with it)."""

    def __init__(self, name, present, idx, last):
        self.name, self.present, self.idx, self.last = name, present, idx, last


def _chain(items):
    """{text: condition}: each present item and the next present one are apart by a `last` or ascend."""
    out = {}
    for i, a in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j]
            between = [c.present for c in items[i + 1:j]]
            gap = ~Cat(*between).any() if between else Const(1)
            out[f"lists ascend: {a.name} -> {b.name}"] = ~(a.present & b.present & gap) | a.last | (a.idx < b.idx)
    return out


def _newest(items):
    """(any present, the newest present item's `last`)."""
    last = Const(0)
    for it in items:                  # oldest first: a later present item overrides
        last = Mux(it.present, it.last, last)
    return Cat(*(it.present for it in items)).any(), last


def _fixed_entries(m, mem, count):
    """Memory `mem`'s entries 0..count-1, each through an asynchronous read port of the harness."""
    out = []
    for addr in range(count):
        port = mem.read_port(domain="comb")
        m.d.comb += port.addr.eq(addr)
        out.append(port.data)
    return out


def spec_list_checks(h, pred, ddf, ddf_body, predict, feed, seq_len, n_rounds):
    """The invariants above for the LapaPredictor scope `pred` of harness `h` (its DDF `ddf`,
    elaborated as `ddf_body`), `predict` / `feed` its FSM's prediction states / feed state:
    {text: condition}, to assert."""
    m, g = h.m, pred.internal
    L, iw, sw = ddf.max_len, ddf.idx_width, ddf.score_width
    peb = pred.submodule("peb")

    # the feeder's current candidate (layout as in rtl.speculation.lapa_predictor; checked by width, and its
    # idx against the k_hat read address it drives outside the trace)
    cur_raw = g("cur")
    cur_layout = data.StructLayout({"idx": unsigned(iw), "prev": signed(sw), "row_last": 1})
    if len(cur_raw) != cur_layout.size:
        raise LookupError(f"LapaPredictor.cur: {len(cur_raw)} bits, expected {cur_layout.size}")
    cur = cur_layout(cur_raw)
    cur_valid, seq, fr = g("cur_valid"), g("seq"), g("fr")
    causal = h.submodule("predictor").slot.job.causal
    n1 = Mux(causal, g("row_t") + 1, seq_len)

    # the DDF: banks through fixed-address ports; the emit side's state
    buf = ddf_body._named_submodules["buf"][0]
    bank = _fixed_entries(m, buf, 2 * L)
    c_bank, c_count, c_done = named(ddf_body, "c_bank"), named(ddf_body, "c_count"), named(ddf_body, "c_done")
    e_bank, e_count, pos = named(ddf_body, "e_bank"), named(ddf_body, "e_count"), named(ddf_body, "pos")
    pend, pend_valid = buf.shape(named(ddf_body, "pend")), named(ddf_body, "pend_valid")
    dfsm = ddf_body._generated["fsm"]
    d_idle, d_thr, d_emit = dfsm.ongoing("idle"), dfsm.ongoing("threshold"), dfsm.ongoing("emit")
    c_entry = lambda k: Mux(c_bank, bank[L + k].idx, bank[k].idx)
    e_entry = lambda k: Mux(e_bank, bank[L + k].idx, bank[k].idx)
    c_idx = Array(c_entry(k) for k in range(L))
    e_idx = Array(e_entry(k) for k in range(L))
    more = pos < e_count
    final = g("ddf_round") == n_rounds - 1
    src_emit = ~d_idle & ~final       # the DDF emits a round whose survivors go to the FIFO

    # the candidate FIFO: its output register, then its storage from `consume`
    cands = pred.submodule("cands")
    fifo_body = pred.elaborated("cands")
    D = cands.depth - 1
    storage = fifo_body._named_submodules["storage"][0]
    inner_level, produce, consume = (named(fifo_body, n) for n in ("inner_level", "produce", "consume"))
    cand = ddf.o.payload.shape()
    stored = [cand(v) for v in _fixed_entries(m, storage, D)]
    s_idx, s_last = Array(e.idx for e in stored), Array(e.last for e in stored)
    fifo = [_Item("FIFO out", cands.r_rdy, cand(cands.r_data).idx, cand(cands.r_data).last)]
    for k in range(D):
        at = Mux(consume + k >= D, consume + k - D, consume + k)
        fifo.append(_Item(f"FIFO {k}", inner_level > k, s_idx[at], s_last[at]))
    fifo_any = cands.r_rdy | (inner_level != 0)

    C = _Item("C (collect bank's newest)", c_count != 0, c_idx[c_count - 1], c_done)
    P = _Item("P (PEB out)", peb.o.valid, peb.o.payload.idx, peb.o.payload.last)
    S = _Item("S (stage 1, key's last chunk)", peb.i.valid & peb.i.payload.key_last, peb.i.payload.idx,
              peb.i.payload.row_last)
    K = _Item("K (cur)", cur_valid, cur.idx, cur.row_last)
    SEQ = _Item("round-1 counter", feed & (fr == 0) & (seq < n1), seq, Const(1))
    O = _Item("DDF o", src_emit & ddf.o.valid, ddf.o.payload.idx, ddf.o.payload.last)
    PEND = _Item("DDF pending", src_emit & d_emit & pend_valid, pend.idx, ~more)
    BANK = _Item("DDF bank from pos", src_emit & (d_thr | (d_emit & more)), Mux(d_thr, e_entry(0), e_idx[pos]),
                 Const(1))
    fed = [K, *fifo]                  # the list being fed (the source's candidates follow)
    head = [C, P, S, *fed]
    checks = {}
    checks.update({k: ~predict | v for k, v in _chain([*head, SEQ, O, PEND, BANK]).items()})
    for it in [C, P, S, K, *fifo]:    # (the DDF's emit side: its bank's bound, and the chain)
        checks[f"{it.name}: idx < seq_len, = seq_len - 1 only as a list's last"] = ~predict | ~it.present | (
            (it.idx < seq_len) & ((it.idx != seq_len - 1) | it.last))
    anything, newest_last = _newest(head)
    checks["the candidates before the source end with a last, or a source follows"] = ~predict | (
        ~anything | newest_last | SEQ.present | src_emit)
    for i, it in enumerate(fed):
        later = [x.present for x in fed[i + 1:]] + [SEQ.present, src_emit]
        checks[f"the list being fed: {it.name} last only as its newest"] = ~(it.present & it.last) | ~Cat(*later).any()
    # which list is where, by the round-list count (lists fed = row_t * R + fr, lists out of the
    # DDF = rows_done * R + ddf_round): the FIFO's candidates and a non-final DDF list feed the
    # list being fed, so the DDF emits its predecessor (or is past it, idle, once it is all out)
    fed_n, out_n = g("row_t") * n_rounds + fr, g("rows_done") * n_rounds + g("ddf_round")
    checks["the FIFO holds candidates only in round >= 2's feed, of its predecessor's"] = ~fifo_any | (
        feed & (fr != 0) & ((src_emit & (out_n + 1 == fed_n)) | (d_idle & (out_n == fed_n))))
    checks["a non-final DDF list only in round >= 2's feed, its predecessor"] = ~src_emit | (
        feed & (fr != 0) & (out_n + 1 == fed_n))
    checks["round >= 2: the feeder holds a candidate only once the list before is emitted"] = ~(
        feed & (fr != 0) & cur_valid) | (src_emit & (out_n + 1 == fed_n)) | (out_n == fed_n)
    # lists in flight (numbers out_n .. fed_n - 1): all but the newest are a final round's (a
    # non-final list's successor is fed from its survivors, so only once it is all out)
    checks["lists in flight: all but the newest are a final round's"] = ~predict | (n_rounds == 1) | (
        fed_n <= out_n + 1) | ((fed_n == out_n + 2) & final & (fr == 1))
    checks["K's idx is the k_hat read address"] = ~cur_valid | (pred.submodule("kbuf").read_ports[0].addr == cur.idx)
    # the DDF's banks
    for k in range(L - 1):
        checks[f"collect bank ascends at {k}"] = ~(k + 1 < c_count) | (c_entry(k) < c_entry(k + 1))
        checks[f"emit bank ascends at {k}"] = d_idle | ~(k + 1 < e_count) | (e_entry(k) < e_entry(k + 1))
    checks["collect bank: its newest idx >= c_count - 1"] = (c_count == 0) | (C.idx + 1 >= c_count)
    for k in range(L):
        checks[f"emit bank entry {k} < seq_len"] = ~predict | d_idle | ~(k < e_count) | (e_entry(k) < seq_len)
    # SyncFIFOBuffered's pointers (its own checks exist only for platform "formal")
    diff = Mux(produce >= consume, produce - consume, D + produce - consume)
    checks["FIFO pointers agree with its level"] = (produce < D) & (consume < D) & (
        (inner_level == diff) | ((produce == consume) & (inner_level == D)))
    return checks
