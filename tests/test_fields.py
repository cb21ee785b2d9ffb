# amaranth: UnusedElaboratable=no
"""The parameter table (lapa.fields) and everything derived from it: ArithConfig, the register
map, ConfigCheck and the block ports hold every legal value and agree on what is legal."""

import dataclasses
import re
from pathlib import Path

import pytest
from amaranth.hdl import Signal
from amaranth.sim import Simulator

from lapa import fields
from lapa.config import HW_RANGES, ArithConfig, ConfigError, HardwareConfig, LapaConfig, arith_config_class
from lapa.fields import MAX_ROUNDS, PARAMS, ROUNDS_PARAM, Param, param, registered, round_field
from rtl.execution.av_array import AVArray
from rtl.soc.config_check import ConfigCheck
from rtl.speculation.ddf import DDF
from rtl.execution.unit import exec_config_layout
from rtl.soc.param_regs import feed, param_layout
from rtl.speculation.pea import PEA
from rtl.speculation.peb import PEB
from rtl.soc.regbank import bank_layout
from rtl.soc.regmap import CONFIG_CODES, ERROR_CODES, register_map
from rtl.execution.requant import Requant
from rtl.execution.softmax import Softmax, SoftmaxExp
from rtl.speculation.unit import spec_config_layout

HW = HardwareConfig(d_model=32, head_dim=8, max_seq_len=64, n_heads=6, n_kv_heads=2, max_rounds=3,
                    pea_lanes=8, peb_lanes=8, mac_rows=1)


def test_arith_config_is_the_table():
    assert [f.name for f in dataclasses.fields(ArithConfig)] == [p.name for p in PARAMS]
    default = ArithConfig()
    assert all(getattr(default, p.name) == p.default for p in PARAMS)
    for p in PARAMS:
        if p.flag or p.choices or p.per_round:
            continue
        legal = {"round_eta": (0, 0)}   # eta <= 2^eta_frac_bits for every eta_frac_bits
        for bad in (p.lo - 1, p.hi + 1):
            with pytest.raises(ConfigError, match=rf"^{p.name} = {bad}: out of range, allowed {p.lo}..{p.hi}$"):
                ArithConfig(**legal, **{p.name: bad})
        ArithConfig(**legal, **{p.name: p.lo})
        ArithConfig(**legal, **{p.name: p.hi})


def _block_ports():
    """(port, rows it carries) of every block that takes a SPEC parameter at run time."""
    pea = PEA(lanes=4, d_model=32, acc_width=HW.pea_acc_width)
    peb = PEB(lanes=4, head_dim=8, idx_width=6, score_width=HW.peb_acc_width)
    ddf = DDF(max_len=64, idx_width=6, score_width=HW.peb_acc_width)
    rq = Requant(lanes=2, acc_width=HW.mac_acc_width)
    av = AVArray(lanes=2, acc_width=HW.av_acc_width)
    sm = Softmax(score_width=HW.score_width, max_len=64)
    exp = SoftmaxExp(d_width=HW.score_width + 1)
    out = [(pea.sh, ("sh_qhat", "sh_khat")), (peb.bits, ("round_bits",)), (ddf.eta, ("round_eta",)),
           (ddf.eta_frac_bits, ("eta_frac_bits",)), (ddf.margin, ("round_margin",)),
           (rq.m, ("m_q", "m_k", "m_v", "m_o")), (rq.n, ("n_q", "n_k", "n_v", "n_o")),
           (av.m_o, ("m_o",)), (av.n_o, ("n_o",))]
    for unit in (sm, exp):   # SPEC 8's sanger reuses the softmax with its own scale
        out += [(unit.sm_mult, ("sm_mult", "sg_mult")), (unit.sm_shift, ("sm_shift", "sg_shift")),
                (unit.sm_frac_bits, ("sm_frac_bits",))]
    return out


def test_every_register_and_port_holds_both_ends_of_every_range():
    regs = {r.name: r for r in register_map(HW)}
    checked = 0
    for p in registered():
        ends = (p.reg_lo, p.reg_hi)
        if p.per_round:
            names = (["ROUND_BITS"] * MAX_ROUNDS if p.name == ROUNDS_PARAM
                     else [f"{p.name.upper()}{r + 1}" for r in range(MAX_ROUNDS)])
            for r, name in enumerate(names):
                for v in ends:
                    regs[name].pack(**{round_field(p, r): v})   # raises if it does not fit
        else:
            for v in ends:
                regs[p.name.upper()].pack(**{p.name: v})
        checked += 1
    assert checked == len(registered())
    # the units' config structs: a field per row the unit consumes
    for consumer, layout in (("speculation", spec_config_layout(HW)), ("execution", exec_config_layout(HW))):
        members = dict(layout)
        for p in fields.consumed_by(consumer):
            shape = members[p.name].shape
            width = shape.elem_shape.width if p.per_round else shape.width
            assert p.reg_hi < 1 << width and p.reg_lo >= 0, (consumer, p.name)
    # the blocks' own ports
    for port, names in _block_ports():
        for name in names:
            assert param(name).reg_hi < 1 << len(port), (port, name)
    # n_rounds: 1..MAX_ROUNDS in its field and the unit's
    assert MAX_ROUNDS < 1 << len(Signal(spec_config_layout(HW)).n_rounds)
    assert regs["ROUND_BITS"].pack(n_rounds=MAX_ROUNDS)
    # the job and limit registers hold HardwareConfig's largest values
    L, H = HW_RANGES["max_seq_len"][1], HW_RANGES["n_heads"][1]
    regs["SEQ_LEN"].pack(seq_len=L)
    regs["HEADS"].pack(n_heads=H, n_kv_heads=H)
    regs["PROGRESS"].pack(heads_done=H)
    regs["HW_LIMITS"].pack(max_seq_len=L, n_heads=H, max_rounds=HW_RANGES["max_rounds"][1])


def test_feed_refuses_a_narrower_port():
    with pytest.raises(ValueError, match="x.y: a 3-bit port fed from a 4-bit register would truncate"):
        feed(Signal(3), Signal(4), "x.y")
    feed(Signal(4), Signal(4), "x.y")


# ---- ConfigCheck against ArithConfig, through the simulator

def _base():
    """A legal register image (flat: field -> value): the defaults, three rounds, a job."""
    v = {"seq_len": 1, "n_heads": 6, "n_kv_heads": 2, "n_rounds": 3}
    for p in registered():
        if p.per_round:
            vals = {"round_bits": (3, 3, 2), "round_eta": (0, 1, 2), "round_margin": (0, 5, 7)}[p.name]
            for r in range(MAX_ROUNDS):
                v[round_field(p, r)] = vals[r] if r < 3 else 0
        else:
            v[p.name] = p.encode(p.default)
    return v


def _reference(v):
    """The ERROR code the software gives a register image: ArithConfig / HardwareConfig /
    LapaConfig on the values the hardware reads (rounds past R and rows gated off are unread)."""
    if not 1 <= v["seq_len"] <= HW.max_seq_len:
        return "SEQ_LEN"
    try:
        if v["n_heads"] > HW.n_heads:
            return "HEADS"
        HardwareConfig(**{**dataclasses.asdict(HW), "n_heads": v["n_heads"], "n_kv_heads": v["n_kv_heads"]})
    except ConfigError:
        return "HEADS"
    n = v["n_rounds"]
    values = {}
    for p in registered():
        if p.gate and not v[p.gate]:
            continue
        if p.per_round:
            values[p.name] = tuple(v.get(round_field(p, r), 0) for r in range(n))
        else:
            raw = v[p.name]
            if p.choices and raw >= len(p.choices):
                return p.error
            values[p.name] = p.decode(raw)
    try:
        LapaConfig(arith=ArithConfig(**values), hw=HW)
    except ConfigError as exc:
        name = re.match(r"\w+", str(exc)).group(0)
        return "ROUND_BITS" if name == ROUNDS_PARAM else param(name).error
    if values["predictor"] != HW.predictor:   # a job for another predictor than the one generated
        return "PREDICTOR"
    return "NONE"


def _cases():
    """Single changes of the legal image: every value of a field up to 6 bits, lo / hi +- 1 and
    the register's ends for wider ones, every round count and slice, every split of 8 bits into
    1..4 slices (with R one off), eta against every eta_frac_bits, gated rows with the gate 0 and 1."""
    def ends(lo, hi, width):
        return sorted({x for x in (0, 1, lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, (1 << width) - 1)
                       if 0 <= x < 1 << width})

    cases = []
    for name, lo, hi, width in (("seq_len", 1, HW.max_seq_len, 17), ("n_heads", 1, HW.n_heads, 9),
                                ("n_kv_heads", 1, HW.n_heads, 9)):
        cases += [{name: x} for x in ends(lo, hi, width)]
    cases += [{"n_heads": h, "n_kv_heads": g} for h in range(8) for g in range(8)]
    for p in registered():
        values = range(1 << p.width) if p.width <= 6 else ends(p.reg_lo, p.reg_hi, p.width)
        gates = [{p.gate: 0}, {p.gate: 1}] if p.gate else [{}]
        for r in range(MAX_ROUNDS) if p.per_round else [None]:
            key = p.name if r is None else round_field(p, r)
            cases += [{**g, key: x} for g in gates for x in values]
    cases += [{"n_rounds": n} for n in range(1 << 3)]
    splits = [[8]] + [[a, 8 - a] for a in range(1, 8)]
    splits += [[a, b, 8 - a - b] for a in range(1, 7) for b in range(1, 8 - a)]
    splits += [[a, b, c, 8 - a - b - c] for a in range(1, 6) for b in range(1, 7 - a) for c in range(1, 8 - a - b)]
    assert len(splits) == 1 + 7 + 21 + 35
    for s in splits:
        for n in (len(s) - 1, len(s), len(s) + 1):
            cases.append({"n_rounds": n, **{f"b{r + 1}": s[r] if r < len(s) else 0 for r in range(MAX_ROUNDS)}})
    for efb in range(16):
        for x in ends(0, 1 << min(efb, 8), 9):
            cases.append({"eta_frac_bits": efb, "eta1": 0, "eta2": x, "eta3": 0, "eta4": x})
    return cases


def test_config_check_accepts_exactly_what_arith_config_accepts():
    layout = bank_layout(register_map(HW), "rw")
    dut = ConfigCheck(layout, max_seq_len=HW.max_seq_len, n_heads=HW.n_heads, max_rounds=HW.max_rounds)
    base, cases = _base(), _cases()
    assert _reference(base) == "NONE"
    view = dut.config

    def port(name):
        if name in ("n_heads", "n_kv_heads"):
            return view.heads[name]
        if name == "n_rounds" or re.fullmatch(r"b\d", name):
            return view.round_bits[name]
        m = re.fullmatch(r"(eta|margin)(\d)", name)
        return view[f"round_{m[1]}{m[2]}"] if m else view[name]

    seen = set()

    async def bench(ctx):
        for k, x in base.items():
            ctx.set(port(k), x)
        for case in cases:
            for k, x in case.items():
                ctx.set(port(k), x)
            want = _reference({**base, **case})
            seen.add(want)
            assert ctx.get(dut.error) == ERROR_CODES[want], (case, want)
            for k in case:
                ctx.set(port(k), base[k])

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {"NONE", *CONFIG_CODES}, seen
    assert len(cases) > 900


# ---- one table: a new row reaches every consumer

NEW = Param("new_gain", 3, 1, 100, ("execution",), "MULT", "a new gain")


def test_adding_a_parameter_touches_one_table():
    table = PARAMS + (NEW,)
    cls = arith_config_class(table)
    assert cls().new_gain == 3
    for bad in (0, 101):
        with pytest.raises(ConfigError, match=f"new_gain = {bad}: out of range, allowed 1..100"):
            cls(new_gain=bad)
    regs = {r.name: r for r in register_map(HW, params=table)}
    assert regs["NEW_GAIN"].fields[0].width == 7 and regs["NEW_GAIN"].pack() == 3
    assert param_layout("execution", 3, table)["new_gain"].width == 7
    assert "| new_gain | 1..100 | 7 | NEW_GAIN | MULT | execution |" in fields.describe(table)
    layout = bank_layout(list(regs.values()), "rw")
    dut = ConfigCheck(layout, max_seq_len=HW.max_seq_len, n_heads=HW.n_heads, max_rounds=HW.max_rounds,
                      params=table)
    base = _base()

    async def bench(ctx):
        ctx.set(dut.config.seq_len, 1)
        ctx.set(dut.config.heads.n_heads, 6)
        ctx.set(dut.config.heads.n_kv_heads, 2)
        ctx.set(dut.config.round_bits.n_rounds, 3)
        for r in range(3):
            ctx.set(dut.config.round_bits[f"b{r + 1}"], base[f"b{r + 1}"])
        for p in registered():
            if not p.per_round:
                ctx.set(dut.config[p.name], base[p.name])
        for x, want in ((0, "MULT"), (1, "NONE"), (100, "NONE"), (101, "MULT"), (127, "MULT")):
            ctx.set(dut.config.new_gain, x)
            assert ctx.get(dut.error) == ERROR_CODES[want], x

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def test_a_row_with_no_built_consumer_has_no_register_until_one_is_built(monkeypatch):
    """A row whose consumers are all unbuilt (`CONSUMERS[...]` None) is validated by ArithConfig and
    carried by the vector files only: no register. SPEC 8's sg_* and topk_k have theirs since the
    sanger and topk predictors are built (issue 14); unbuilding them takes the registers away."""
    regs = {r.name: r for r in register_map(HW)}
    assert {"SG_MULT", "SG_SHIFT", "SG_THRESH", "TOPK_K", "PREDICTOR"} <= set(regs)
    assert regs["SG_MULT"].pack() == 256 and regs["SG_THRESH"].fields[0].width == 16
    assert regs["TOPK_K"].pack() == 64 and regs["TOPK_K"].fields[0].width == 17
    monkeypatch.setitem(fields.CONSUMERS, "topk", None)
    names = {r.name for r in register_map(HW)}
    assert "TOPK_K" not in names and {"SG_MULT", "SG_SHIFT", "SG_THRESH"} <= names
    monkeypatch.setitem(fields.CONSUMERS, "sanger", None)
    regs = register_map(HW)
    assert not {r.name for r in regs} & {"SG_MULT", "SG_SHIFT", "SG_THRESH", "TOPK_K"}
    ConfigCheck(bank_layout(regs, "rw"), max_seq_len=64, n_heads=6, max_rounds=3)


def test_a_row_the_hardware_cannot_check_is_refused():
    bad = Param("odd", 1, 1, 5, ("execution",), "", "no error code")
    regs = register_map(HW, params=PARAMS + (bad,))
    with pytest.raises(ValueError, match="parameter odd: its register can hold values outside 1..5"):
        ConfigCheck(bank_layout(regs, "rw"), max_seq_len=64, n_heads=6, max_rounds=3, params=PARAMS + (bad,))


def test_readme_lists_the_table():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert fields.describe() in readme
