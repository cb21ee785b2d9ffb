"""Every proof, with its mode, depth and engine: what tests/test_formal.py and `build.py formal`
run. `quick` proofs (a few seconds each) are in the default tests; the rest are `-m slow`.

Shapes are small, as formal proofs need: FORMAL_CFG is the smallest accelerator the generator
builds (dh = 8: a 64-bit bus word per row), two query heads on one KV head, L = 4.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Mux

from lapa.config import HardwareConfig, LapaConfig
from rtl.soc.axi_guard import AXIGuard
from rtl.soc.config_check import ConfigCheck
from rtl.speculation.ddf import DDF
from rtl.soc.dma import AXI4Reader, AXI4Writer
from rtl.execution.kv_control import KVControl
from rtl.speculation.loe import LOEncoder
from rtl.soc.regbank import RegisterBank, bank_layout
from rtl.soc.regmap import register_map
from rtl.registry import blocks

from . import mutants
from .axi import AXILiteSlaveRules, AXIMasterRules
from .axi_guard import AXIGuardRules, CoreResetOnFault, TopAXILinks
from .config_check import ConfigCheckRules
from .ddf import DDFListRules, DDFRules, ddf_list_checks
from .harness import StreamRules, channels, named, probe
from .kv_control import KVControlRules
from .loe import LOETable
from .sby import Proof
from .speculation import spec_list_checks

__all__ = ["FORMAL_CFG", "proofs", "STREAM_PLAN", "OWN_PROOF", "NOT_PROVEN", "ASSUMED"]

FORMAL_CFG = LapaConfig(hw=HardwareConfig(
    d_model=8, head_dim=8, max_seq_len=4, n_heads=2, n_kv_heads=1, pea_lanes=1, peb_lanes=1,
    mac_rows=1, mac_cols=1, av_lanes=1, max_rounds=2))

# Per block: (mode, depth, quick, inputs held stable, channels whose stall the depth does not
# reach). k-induction closes at depth 4 on the blocks with shallow state, and with the white-box
# help of WHITEBOX on softmax, speculation and execution (whose first output stalls lie past
# cycle 40 / 20, out of bmc's reach; their `config` is assumed held only while busy or while
# an output beat is pending, their contract). results and top get bmc, at a depth their cover proofs
# (`*_reach`) show to reach a stall on every other channel: results' needed_out / aw / w at
# steps 1 / 5 / 6 (its ar is never driven); top's axil r / b at 2, axi ar at 7, axi aw / w not
# within 20. (softmax by bmc: its first `o` stall is at step 23, and step 23 alone ran > 8 min.)
STREAM_PLAN = {
    "av_array": ("prove", 4, True, (), ()),
    "ddf": ("prove", 4, True, (), ()),
    "kv_control": ("prove", 4, True, (), ()),
    "mac_array": ("prove", 4, True, (), ()),
    "pea": ("prove", 4, True, (), ()),
    "peb": ("prove", 4, True, (), ()),
    "regbank": ("prove", 4, True, (), ()),
    "requant": ("prove", 4, True, (), ()),
    "rope": ("prove", 4, True, (), ()),
    "softmax": ("prove", 4, True, (), ()),
    "speculation": ("prove", 4, True, ("config",), ()),
    "execution": ("prove", 4, True, ("config",), ()),
    "results": ("bmc", 12, False, ("trace", "seq_len", "base"), ("axi.ar",)),
    "top": ("bmc", 12, False, (), ("axi.aw", "axi.w")),
    "xloe": ("prove", 4, True, (), ()),
    "topk": ("prove", 4, True, (), ()),
    "sanger": ("prove", 4, True, (), ()),
    "dense": ("prove", 4, True, (), ()),
}

# softmax: `o.payload.prob` is a clamped product of the exponent read port's data and `recip`;
# holding those two registers (and `last`) holds it, which the solver proves at once, where
# comparing two copies of the 16 x 17-bit product does not finish. The FSM fact closes the
# induction.
WHITEBOX = {
    "softmax": dict(
        sources={"o": lambda h: Cat(h.submodule("exps").read_ports[0].data, h.internal("recip"),
                                    h.dut.o.payload.last)},
        invariants=lambda h: {"o.valid only in OUT": ~h.dut.o.valid | h.body._generated["fsm"].ongoing("OUT")}),
    # speculation: see _speculation_invariants
}


def _speculation_invariants(h):
    """The speculation unit's reachable states for k-induction: `hat` only in trace (the row
    buffers' read data, held by their read enable there); the DDF's list lemma
    (formal.ddf.ddf_list_checks, proved alone by ddf_lists_end) in place; the round lists
    counted: lists fed (row_t * n_rounds + fr, a list counted once its last candidate left the
    feeder) = lists out of the DDF (rows_done * n_rounds + ddf_round) + the lists whose end is in
    s1 / the PEB / the DDF; outside the rows' feed, only the last list's end is in flight; the
    pipeline empty outside the prediction. Hence `kept` (the final round's DDF output) only in
    load_q / capture_q / feed / finish. The lemma's environment, a DDF row of at most
    max_seq_len candidates, asserted too: formal.speculation.spec_list_checks (the round lists
    ascend and end with `last`, through the pipeline, the candidate FIFO and the DDF)."""
    d, p = h.dut, h.scope("predictor")      # the rounds live in the unit's LapaPredictor
    g, fsm = p.internal, p.body._generated["fsm"]
    ddf, ddf_body = p.submodule("ddf"), p.elaborated("ddf")
    peb, peb_body = p.submodule("peb"), p.elaborated("peb")
    row_bound, ddf_checks = ddf_list_checks(h.m, ddf, ddf_body)
    N, seq_len = d.config.n_rounds, d.config.seq_len
    predict = _in(fsm, "load_q", "capture_q", "feed", "finish")
    lists = spec_list_checks(h, p, ddf, ddf_body, predict, fsm.ongoing("feed"), seq_len, N)
    between = _in(fsm, "load_q", "capture_q", "finish")     # no list being fed
    ddf_idle = ddf_body._generated["fsm"].ongoing("idle")
    c_done, c_count = named(ddf_body, "c_done"), named(ddf_body, "c_count")
    fresh = named(peb_body, "fresh")
    cur_valid, fr, row_t, rows_done, ddf_round = g("cur_valid"), g("fr"), g("row_t"), g("rows_done"), g("ddf_round")
    s1_end = peb.i.valid & peb.i.payload.row_last
    peb_end = peb.o.valid & peb.o.payload.last
    return {
        "hat.valid only in trace": ~d.hat.valid | fsm.ongoing("trace"),
        "kept only in load_q / capture_q / feed / finish": ~d.kept.valid | predict,
        **{f"DDF: {text}": holds for text, holds in ddf_checks.items()},
        "DDF: a row holds at most max_seq_len candidates": row_bound,
        **lists,
        "FSM state legal": _legal(fsm),
        "busy = not idle": d.busy == ~fsm.ongoing("idle"),
        "s1: a list's end only on a key's last chunk": ~peb.i.valid | ~peb.i.payload.row_last | peb.i.payload.key_last,
        "fr, ddf_round < n_rounds": ~d.busy | ((fr < N) & (ddf_round < N)),
        "outside the prediction: pipeline empty, fr = ddf_round = 0": predict | (
            ~cur_valid & ~peb.i.valid & ~peb.o.valid & fresh & ddf_idle & ~c_done & (c_count == 0)
            & (fr == 0) & (ddf_round == 0)),
        "rows / trace: row_t = rows_done = 0": ~_in(fsm, "rows", "trace") | (
            (row_t == 0) & (rows_done == 0)),
        "rows: row_t < seq_len while fed, = seq_len in finish": Mux(
            fsm.ongoing("finish"), row_t == seq_len, ~predict | (row_t < seq_len)),
        "round lists fed = out + ends in s1 / PEB / DDF": ~predict | (
            row_t * N + fr == rows_done * N + ddf_round + s1_end + peb_end + c_done + ~ddf_idle),
        "between rows: the feeder idle, fr = 0, only the last list's end in flight": ~between | (
            ~cur_valid & (fr == 0) & (fresh | peb.i.valid) & (~peb.i.valid | peb.i.payload.row_last)
            & (~peb.o.valid | peb.o.payload.last | peb.i.valid)
            & (c_done | (c_count == 0) | peb.i.valid | peb.o.valid)),
    }


WHITEBOX["speculation"] = dict(
    stable_when="busy",
    env=lambda h: {"config legal (ConfigCheck)": (h.dut.config.seq_len >= 1)
                   & (h.dut.config.seq_len <= h.dut.hw.max_seq_len) & (h.dut.config.n_rounds >= 1)
                   & (h.dut.config.n_rounds <= h.dut.hw.max_rounds)},
    invariants=_speculation_invariants)


def _execution_invariants(h):
    """The execution unit's reachable states, as k-induction needs them: legal FSM state; the
    projection's chunk count (issued = out + in the MAC / requant pipeline); the score's key
    count (issued = scored + in the MAC); the A.V's job count (issued = out + in its PE /
    requant); each engine idle outside its states; softmax past COLLECT only once every score of
    the row is in."""
    g, d = h.internal, h.dut
    fsm, sm = _fsm(h), h.elaborated("softmax")
    JT, AC = d.jt_n, d.ac_n
    proj_states = _in(fsm, "KV_K", "KV_V", "Q_PROJ")
    score = fsm.ongoing("SCORE")
    mac = h.submodule("mac")
    rq = h.elaborated("proj_out")._named_submodules["requant"][0]
    av = h.elaborated("av")
    av_pe, av_rq = av._named_submodules["pe"][0], av._named_submodules["requant"][0]
    p_out = h.scope("proj_out").internal("n_out")
    p_jt, p_iss = h.scope("proj_feed").internal("p_jt"), h.scope("proj_feed").internal("p_issuing")
    mac_v, mac_last, n_kept = g("mac_v"), g("mac_last"), g("n_kept")
    chunks_in = Mux(p_out > JT, JT, p_out) + rq.in_flight() + mac.o.valid + (mac_v & mac_last)
    keys_in = (g("n_scored") + mac.o.valid + (mac_v & mac_last))[:len(n_kept)]
    fd, f = h.submodule("av_feeder"), h.scope("av_feeder").internal
    jobs_in = f("chunk") + av_rq.in_flight() + av_pe.o.valid + (f("beat_v") & f("beat_last"))
    return {
        "FSM state legal": _legal(fsm),
        "p_out <= JT + 1": p_out <= JT + 1,
        "the rotator holds a row exactly when p_out = JT + 1":
            h.scope("proj_out").submodule("rope").o.valid == (p_out == JT + 1),
        "mode_score = SCORE": g("mode_score") == score,
        "projection: chunks issued = out + in the MAC / requant": ~proj_states | (chunks_in == Mux(p_iss, p_jt, JT)),
        "the projection idle elsewhere": proj_states | (~p_iss & (rq.in_flight() == 0) & ((p_out == 0) | (p_out == JT + 1))),
        "the MAC empty outside projection and score": proj_states | score | (~mac_v & ~mac.o.valid),
        "score: keys issued = scored + in the MAC": ~score | (keys_in == n_kept),
        "row_known: n_kept = row_len": ~g("row_known") | (n_kept == g("row_len")),
        "Q_PROJ: the row's score counters at 0": ~fsm.ongoing("Q_PROJ") | (
            (n_kept == 0) & (g("n_scored") == 0) & ~g("row_known") & (g("n_probs") == 0)),
        "softmax past COLLECT only in SCORE with every score in": sm._generated["fsm"].ongoing("COLLECT") | (
            score & g("row_known") & (g("n_scored") == g("row_len"))),
        "probs.valid only in softmax's OUT": ~d.probs.valid | sm._generated["fsm"].ongoing("OUT"),
        "proj only once its row left the register": ~d.proj.valid | (p_out == JT + 1),
        "proj only in KV_K / KV_V / Q_PROJ": ~d.proj.valid | proj_states,
        "A.V: jobs issued = out + in its PE / requant": ~fd.active | (jobs_in == Mux(f("issuing"), f("jc"), AC)),
        "A.V idle when no row is active": fd.active | (~f("issuing") & ~f("beat_v") & (av_rq.in_flight() == 0) & ~av_pe.o.valid),
    }


WHITEBOX["execution"] = dict(
    stable_when="busy",
    # probs' payload is softmax's clamped product: held by holding its sources (as for softmax)
    sources={"probs": lambda h: Cat(h.elaborated("softmax")._named_submodules["exps"][0].read_ports[0].data,
                                    named(h.elaborated("softmax"), "recip"), h.dut.probs.payload.last)},
    invariants=_execution_invariants)

# Facts of reachable states that a proof assumes and does not prove, and why: none. (The last
# one, the DDF's row bound inside speculation, is asserted since: formal/speculation.py.)
ASSUMED: dict[str, str] = {}


def _fsm(h, name="fsm"):
    return h.body._generated[name]


def _in(fsm, *states):
    unknown = [st for st in states if st not in fsm.encoding]
    if unknown:      # FSM.ongoing would add a never-reached state of that name
        raise LookupError(f"FSM {fsm._data['name']!r} has no state {unknown[0]!r}")
    return Cat(*(fsm.ongoing(st) for st in states)).any()


def _legal(fsm):
    """The FSM's state register holds one of its states' encodings."""
    return _in(fsm, *fsm.encoding)

# Blocks with stream outputs that no proof here covers, and why (measured at FORMAL_CFG): none.
NOT_PROVEN: dict[str, str] = {}
# Blocks whose stream rule needs more environment than StreamRules gives: their own proof.
# axi_guard: it withdraws a pending R / B toward the core in the cycle the top level resets the
# core (its `fault`), by design; formal/axi_guard.py proves the rule with that reset.
OWN_PROOF = {"axi_guard": "axi_guard_rules"}
# top is in STREAM_PLAN, but its bmc reaches no AW / W stall (the first result write comes after a
# whole head's work, hundreds of cycles). Those channels are proved by composition instead:
# `axi_guard_top_links` (top's port = the guard's memory side, the guard's core side = the
# result writer's AXI4Writer, signal for signal), `axi_guard_rules` (the guard keeps the rules on
# its memory side given a core that keeps them and is reset on `fault`), `axi_guard_core_reset`
# and `axi_axi4writer_64` (the writer keeps them given the guard's core-side guarantees).


def _stream_proof(cfg, name, factory, plan, cover=False):
    mode, depth, quick, stable, unreached = plan
    if cover:
        but = f" (not {', '.join(unreached)})" if unreached else ""
        return Proof(f"streams_{name}_reach", "streams",
                     lambda: StreamRules(factory(cfg), stable, cover=True, never=unreached), mode="cover",
                     depth=depth, slow=not quick,
                     what=f"{name}: a stall of every output channel{but} is reached within the bmc depth")
    return Proof(f"streams_{name}", "streams", lambda: StreamRules(factory(cfg), stable, **WHITEBOX.get(name, {})),
                 mode=mode,
                 depth=depth, slow=not quick,
                 what=f"{name}: every output channel holds valid until ready, payload stable"
                      + ("; assumes: " + ASSUMED[f"streams_{name}"].split(":")[0] if f"streams_{name}" in ASSUMED else ""))


def _streams(cfg):
    out = []
    for name, info in blocks().items():
        if name not in STREAM_PLAN:
            if name not in NOT_PROVEN and name not in OWN_PROOF and channels(probe(info.factory(cfg))):
                raise LookupError(f"block {name!r} has stream ports but no STREAM_PLAN entry")
            continue
        plan = STREAM_PLAN[name]
        out.append(_stream_proof(cfg, name, info.factory, plan))
        if plan[0] == "bmc":
            out.append(_stream_proof(cfg, name, info.factory, plan, cover=True))
    out.append(Proof("streams_mutant_softmax_reads_while_stalled", "streams",
                     lambda: StreamRules(mutants.SoftmaxReadsWhileStalled(score_width=cfg.hw.score_width,
                                                                          max_len=cfg.hw.max_seq_len),
                                         **WHITEBOX["softmax"]),
                     mode="bmc", depth=26, expect="FAIL", slow=True,
                     what="mutant: softmax's exponent read port enabled during a stall (first stall: step 23)"))
    out.append(Proof("streams_mutant_speculation_hat_read_while_stalled", "streams",
                     lambda: StreamRules(mutants.SpecReadsHatWhileStalled(cfg), ("config",),
                                         **WHITEBOX["speculation"]),
                     depth=4, expect="UNKNOWN", fails_on="hat", slow=True,
                     what="mutant: the row buffers' read ports enabled while `hat` stalls (its first "
                          "stall is past cycle 40: caught by the induction step)"))
    out.append(Proof("streams_mutant_speculation_finishes_early", "streams",
                     lambda: StreamRules(mutants.SpecFinishesEarly(cfg), ("config",), **WHITEBOX["speculation"]),
                     depth=4, expect="UNKNOWN", fails_on="round lists fed = out + ends in s1 / PEB / DDF", slow=True,
                     what="mutant: rows_done counted on every round's list end (the job ends with final lists "
                          "in flight, their kept keys after it): caught by the induction step"))
    out.append(Proof("streams_mutant_speculation_fifo_not_popped", "streams",
                     lambda: StreamRules(mutants.SpecFIFONotPopped(cfg), ("config",), **WHITEBOX["speculation"]),
                     depth=4, expect="UNKNOWN", fails_on="lists ascend: K (cur) -> FIFO out", slow=True,
                     what="mutant: the candidate FIFO not popped as the feeder takes its head (a later round's "
                          "list repeats a survivor past max_seq_len candidates): caught by the induction step"))
    out.append(Proof("streams_mutant_execution_o_chunk_moves", "streams",
                     lambda: StreamRules(mutants.ExecChunkMovesWhileStalled(cfg), ("config",),
                                         **WHITEBOX["execution"]),
                     depth=4, expect="UNKNOWN", fails_on="o", slow=True,
                     what="mutant: execution's o chunk counter moves while o stalls (its first stall is "
                          "past cycle 20: caught by the induction step)"))
    out.append(Proof("streams_mutant_kv_ignores_stall", "streams",
                     lambda: StreamRules(mutants.KVIgnoresStall(max_seq_len=4)), depth=4, expect="FAIL",
                     what="mutant: KVControl takes a request while o is stalled"))
    return out


def _guard(cfg):
    what = ("memory side: AR / AW / W held until ready, payload stable, W beats for accepted AWs, wlast on "
            "beat len + 1, drain included; core side: R / B held but in the core's reset (`fault`), "
            "responses only for the core's own bursts")
    top = blocks()["top"].factory
    return [
        Proof("axi_guard_rules", "axi_guard", lambda: AXIGuardRules(AXIGuard()), depth=2,
              what=f"AXIGuard, k-induction: {what}"),
        Proof("axi_guard_reach", "axi_guard", lambda: AXIGuardRules(AXIGuard(), cover=True), mode="cover",
              depth=8, slow=True, what="AXIGuard: a B and an R withdrawn at the core's reset, a drain beat stalled, "
                             "a held AR finished, the drain's end: all reached (the environment allows them)"),
        Proof("axi_guard_core_reset", "axi_guard", lambda: CoreResetOnFault(top(cfg)), depth=1, slow=True,
              what="top: the core (the guard's masters) is reset in every cycle guard.fault is high"),
        Proof("axi_guard_top_links", "axi_guard", lambda: TopAXILinks(top(cfg)), depth=1, slow=True,
              what="top: its AXI4 port = the guard's memory side; the guard's core side = the fetcher's "
                   "AXI4Reader and the result writer's AXI4Writer (every signal): with the guard, writer "
                   "and reader proofs, top's AW / W / AR keep the hold rule"),
        Proof("axi_guard_mutant_top_awcache", "axi_guard", lambda: TopAXILinks(mutants.TopAWCacheTied(cfg)),
              depth=1, expect="FAIL", slow=True, what="mutant: top's awcache tied to 0"),
        Proof("axi_guard_mutant_copies_from_core", "axi_guard",
              lambda: AXIGuardRules(mutants.GuardCopiesFromCore()), mode="bmc", depth=8, expect="FAIL", slow=True,
              what="mutant (the guard before this proof): a stalled drain W beat becomes the core's last beat"),
        Proof("axi_guard_mutant_b_in_drain", "axi_guard",
              lambda: AXIGuardRules(mutants.GuardPassesBInDrain()), mode="bmc", depth=8, expect="FAIL",
              slow=True, what="mutant: B passed to the (reset) core while draining"),
        # bmc 8: the first fault of top (a register write, a start, a read answered with an error)
        # is at step 7 (measured: FAIL at step 7, 65 s)
        Proof("axi_guard_mutant_top_no_flush", "axi_guard", lambda: CoreResetOnFault(mutants.TopNoFlush(cfg)),
              mode="bmc", depth=8, expect="FAIL", slow=True, what="mutant: top does not reset the core on a fault"),
    ]


def _loe():
    out = [Proof(f"loe_{mode}_m{mb}", "loe", lambda mo=mode, b=mb: LOETable(LOEncoder(mode=mo, mant_bits=b)),
                 depth=1, slow=(mode, mb) != ("floor", 0),
                 what=f"LOE mode {mode}, {mb} mantissa bit(s) = golden lo_encode on all 256 int8")
           for mode in ("floor", "round") for mb in (0, 1)]
    out.append(Proof("loe_mutant_one_entry", "loe", lambda: LOETable(mutants.LOEOneEntry()), depth=1,
                     expect="FAIL", what="mutant: one wrong table entry (37 -> e 4)"))
    return out


def _ddf(cfg):
    mk = lambda n, cls=DDF, cover=False: lambda: DDFRules(
        cls(max_len=n, idx_width=max(1, (n - 1).bit_length()), score_width=4), cover=cover)
    what = "row maximum kept, no beat above it, no row lost or emptied"
    return [
        Proof("ddf_L2", "ddf", mk(2), mode="bmc", depth=16, what=f"max_len 2, 4-bit scores: {what}"),
        Proof("ddf_L2_reach", "ddf", mk(2, cover=True), mode="cover", depth=16,
              what="max_len 2: a full row, two rows and the drain check reached within the depth"),
        # depth 17: the drain check after a row is first reached at step 16; step 16 alone takes
        # about 6 min, step 17 did not finish in 13 (yices)
        Proof("ddf_L3", "ddf", mk(3), mode="bmc", depth=17, slow=True, what=f"max_len 3, 4-bit scores: {what}"),
        Proof("ddf_L3_reach", "ddf", mk(3, cover=True), mode="cover", depth=17, slow=True,
              what="max_len 3: a full row, two rows and the drain check reached within the depth"),
        Proof("ddf_mutant_phi_above_max", "ddf", mk(2, mutants.DDFPhiAboveMax), mode="bmc", depth=16,
              expect="FAIL", what="mutant: margin mode phi = mx - margin + 1"),
        Proof("ddf_mutant_last_lost", "ddf", mk(2, mutants.DDFLosesLast), mode="bmc", depth=16,
              expect="FAIL", slow=True, what="mutant: the final survivor without last"),
        # k-induction 2 at the speculation unit's DDF (FORMAL_CFG: L 4, PEB-width scores), 7 s
        Proof("ddf_lists_end", "ddf", lambda: DDFListRules(blocks()["ddf"].factory(cfg)), depth=2,
              what="k-induction, L 4, 19-bit scores: every list the emit side starts ends with a last beat "
                   "(left only as it is taken), nothing on o outside a list, nothing of a list after its last"),
        Proof("ddf_lists_end_mutant_phi_above_max", "ddf",
              lambda: DDFListRules(mutants.DDFPhiAboveMax(max_len=4, idx_width=2, score_width=19)),
              mode="bmc", depth=8, expect="FAIL", slow=True,
              what="mutant: margin mode phi = mx - margin + 1 (margin 0 empties a list: no last beat)"),
    ]


def _kv():
    what = "no key twice per head, only requested keys, nothing between last and clear"
    return [
        Proof("kv_control_L4", "kv_control", lambda: KVControlRules(KVControl(max_seq_len=4)), depth=4,
              what=f"L 4: {what}"),
        Proof("kv_control_L64", "kv_control", lambda: KVControlRules(KVControl(max_seq_len=64)), depth=4,
              slow=True, what=f"L 64: {what}"),
        Proof("kv_control_mutant_takes_after_last", "kv_control",
              lambda: KVControlRules(mutants.KVIgnoresLast(max_seq_len=4)), depth=4, expect="FAIL",
              what="mutant: i.ready without the `ended` gate"),
        Proof("kv_control_mutant_compute_stuck", "kv_control",
              lambda: KVControlRules(mutants.KVForgetsKeys(max_seq_len=4)), depth=4, expect="FAIL",
              slow=True, what="mutant: compute stuck at 1"),
    ]


def _config_check():
    def mk(hw, cls=ConfigCheck):
        return lambda: ConfigCheckRules(cls(bank_layout(register_map(hw), "rw"), max_seq_len=hw.max_seq_len,
                                            n_heads=hw.n_heads, max_rounds=hw.max_rounds))
    small = HardwareConfig(d_model=32, head_dim=8, max_seq_len=64, n_heads=6, n_kv_heads=2, max_rounds=3,
                           pea_lanes=8, peb_lanes=8, mac_rows=1, mac_cols=8, av_lanes=8)
    what = "error == 0 exactly for legal registers; the code names the first failing group"
    return [
        Proof("config_check_small", "config_check", mk(small), depth=1,
              what=f"L 64, 6 heads, 3 rounds: {what}"),
        Proof("config_check_default", "config_check", mk(HardwareConfig()), depth=1, slow=True,
              what=f"default hardware (L 1024, 9 heads, 4 rounds): {what}"),
        Proof("config_check_mutant_frac_9", "config_check", mk(small, mutants.ConfigAcceptsFrac9), depth=1,
              expect="FAIL", what="mutant: sm_frac_bits = 9 accepted"),
    ]


def _axi(cfg):
    what = "no 4 KiB crossing, INCR/size/alignment, fixed fields constant, hold rules, last on len + 1, one burst in flight"
    out = []
    for cls in (AXI4Reader, AXI4Writer):
        for dw in (64, 32):
            out.append(Proof(f"axi_{cls.__name__.lower()}_{dw}", "axi",
                             lambda c=cls, w=dw: AXIMasterRules(c(addr_width=32, data_width=w)),
                             depth=4, slow=dw != 64, what=f"{cls.__name__}, {dw}-bit bus: {what}"))
    out += [
        Proof("axi_mutant_no_4k_cap", "axi", lambda: AXIMasterRules(mutants.ReaderNoBoundary()), depth=4,
              expect="FAIL", what="mutant: reader bursts without the 4 KiB cap"),
        Proof("axi_mutant_early_wlast", "axi", lambda: AXIMasterRules(mutants.WriterEarlyWlast()), depth=4,
              expect="FAIL", slow=True, what="mutant: writer's wlast one beat early"),
        Proof("axi_regbank_lite", "axi", lambda: AXILiteSlaveRules(RegisterBank(register_map(cfg.hw))), depth=4,
              what="register bank, AXI4-Lite slave: B only after AW + W, R after AR, each once; "
                   "OKAY in the map, SLVERR past it; ID reads LAPA_ID; hold rules"),
        Proof("axi_mutant_regbank_b_without_w", "axi",
              lambda: AXILiteSlaveRules(mutants.RegBankBWithoutW(register_map(cfg.hw))), depth=4,
              expect="FAIL", slow=True, what="mutant: a write taken on AW alone"),
    ]
    return out


def proofs(cfg=FORMAL_CFG) -> list[Proof]:
    """The whole catalog, in report order."""
    return [*_streams(cfg), *_guard(cfg), *_loe(), *_ddf(cfg), *_kv(), *_config_check(), *_axi(cfg)]
