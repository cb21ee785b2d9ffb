"""The start-time register check refuses exactly what ArithConfig/HardwareConfig refuse."""

import random

from amaranth.sim import Simulator

from lapa.config import ArithConfig, ConfigError, HardwareConfig
from rtl.soc.config_check import ConfigCheck
from rtl.soc.regbank import bank_layout
from rtl.soc.regmap import CONFIG_CODES, ERROR_CODES, register_map

HW = HardwareConfig(d_model=32, head_dim=8, max_seq_len=64, n_heads=6, n_kv_heads=2, max_rounds=3,
                    pea_lanes=8, peb_lanes=8, mac_rows=1, mac_cols=8, av_lanes=8)

CODE_OF_PARAM = {"round_bits": "ROUND_BITS", "round_eta": "ETA", "eta_frac_bits": "ETA",
                 "sm_frac_bits": "SM_FRAC_BITS", "sm_shift": "SHIFT_RANGE", "sm_mult": "MULT",
                 "rope_base": "ROPE", "pos0": "ROPE", "sg_mult": "MULT", "sg_shift": "SHIFT_RANGE",
                 "topk_k": "TOPK_K"}
SPEC8 = ("sg_mult", "sg_shift", "sg_thresh", "topk_k")   # registers since sanger / topk are built
for t in "qkvo":
    CODE_OF_PARAM[f"n_{t}"] = "SHIFT_RANGE"
    CODE_OF_PARAM[f"m_{t}"] = "MULT"


def reference(v):
    """The error code the software model gives for register values v (a flat dict)."""
    if not 1 <= v["seq_len"] <= HW.max_seq_len:
        return "SEQ_LEN"
    H, G = v["n_heads"], v["n_kv_heads"]
    if not (1 <= H <= HW.n_heads and 1 <= G <= H and H % G == 0):
        return "HEADS"
    n = v["n_rounds"]
    if not 1 <= n <= HW.max_rounds:
        return "ROUND_BITS"
    rb = tuple(v[f"b{r + 1}"] for r in range(n))
    fields = {k: v[k] for k in ("eta_frac_bits", "sm_mult", "sm_shift", "sm_frac_bits",
                                "m_q", "n_q", "m_k", "n_k", "m_v", "n_v", "m_o", "n_o") + SPEC8}
    if v["rope"]:
        fields.update(rope_base=v["rope_base"], pos0=v["pos0"])
    try:
        ArithConfig(round_bits=rb, round_eta=tuple(v[f"eta{r + 1}"] for r in range(n)),
                    round_margin=(0,) * n, **fields)
    except ConfigError as exc:
        name = str(exc).split(" ")[0].split("[")[0]
        return CODE_OF_PARAM[name]
    if v["predictor"] != 0:   # lapa, the predictor of HW
        return "PREDICTOR"
    return "NONE"


def random_values(rng, break_one):
    v = {"seq_len": rng.randint(1, 64), "n_heads": 6, "n_kv_heads": rng.choice([1, 2, 3, 6]),
         "n_rounds": 2, "b1": 4, "b2": 4, "b3": 0, "b4": 0, "eta_frac_bits": rng.randint(1, 8),
         "rope": rng.randint(0, 1), "rope_base": rng.randint(1, 2**20), "pos0": rng.randint(0, 2**16),
         "sm_mult": rng.randint(1, 65535), "sm_shift": rng.randint(0, 47), "sm_frac_bits": rng.randint(1, 8),
         "predictor": 0, "sg_mult": rng.randint(1, 65535), "sg_shift": rng.randint(0, 47),
         "sg_thresh": rng.randint(0, 65535), "topk_k": rng.randint(1, 65536)}
    for t in "qkvo":
        v[f"m_{t}"] = rng.randint(1, 65535)
        v[f"n_{t}"] = rng.randint(0, 47)
    for r in range(4):
        v[f"eta{r + 1}"] = rng.randint(0, 2 ** v["eta_frac_bits"])
    breakers = [
        lambda: v.update(seq_len=rng.choice([0, 65, 131071])),
        lambda: v.update(n_heads=rng.choice([0, 4, 7, 511]), n_kv_heads=3),
        lambda: v.update(n_kv_heads=rng.choice([0, 4, 5, 7])),
        lambda: v.update(n_rounds=rng.choice([0, 4, 7])),
        lambda: v.update(b2=rng.choice([0, 3, 5, 15])),
        lambda: v.update(n_rounds=3, b1=2, b2=2, b3=rng.choice([0, 3, 5])),
        lambda: v.update(eta_frac_bits=rng.choice([0, 9, 15])),
        lambda: v.update(eta2=2 ** v["eta_frac_bits"] + rng.randint(1, 5)),
        lambda: v.update(sm_frac_bits=rng.choice([0, 9, 15])),
        lambda: v.update(**{rng.choice(["n_q", "n_k", "n_v", "n_o", "sm_shift"]): rng.randint(48, 63)}),
        lambda: v.update(**{rng.choice(["m_q", "m_k", "m_v", "m_o", "sm_mult", "sg_mult"]): 0}),
        lambda: v.update(sg_shift=rng.randint(48, 63)),
        lambda: v.update(topk_k=rng.choice([0, 65537, 131071])),
        lambda: v.update(rope=1, rope_base=rng.choice([0, 2**20 + 1])),
        lambda: v.update(rope=1, pos0=rng.randint(2**16 + 1, 2**17 - 1)),
        lambda: v.update(rope=0, rope_base=0, pos0=2**17 - 1),  # ignored without rope
        lambda: v.update(predictor=rng.randint(1, 7)),           # another predictor, or no predictor
    ]
    if break_one:
        rng.choice(breakers)()
    return v


def test_config_check_matches_software_model():
    layout = bank_layout(register_map(HW), "rw")
    dut = ConfigCheck(layout, max_seq_len=HW.max_seq_len, n_heads=HW.n_heads,
                      max_rounds=HW.max_rounds)
    sim = Simulator(dut)
    rng = random.Random(1234)
    seen = set()

    async def bench(ctx):
        for i in range(600):
            v = random_values(rng, break_one=i % 4 != 0)
            c = dut.config
            ctx.set(c.seq_len, v["seq_len"])
            ctx.set(c.heads.n_heads, v["n_heads"])
            ctx.set(c.heads.n_kv_heads, v["n_kv_heads"])
            ctx.set(c.round_bits.n_rounds, v["n_rounds"])
            for r in range(4):
                ctx.set(getattr(c.round_bits, f"b{r + 1}"), v[f"b{r + 1}"])
                ctx.set(getattr(c, f"round_eta{r + 1}"), v[f"eta{r + 1}"])
            for k in ("eta_frac_bits", "rope", "rope_base", "pos0", "sm_mult", "sm_shift",
                      "sm_frac_bits", "m_q", "n_q", "m_k", "n_k", "m_v", "n_v", "m_o", "n_o", "predictor") + SPEC8:
                ctx.set(getattr(c, k), v[k])
            want = reference(v)
            seen.add(want)
            assert ctx.get(dut.error) == ERROR_CODES[want], (v, want)

    sim.add_testbench(bench)
    sim.run()
    assert seen == {"NONE", *CONFIG_CODES}, seen


def test_config_check_refuses_another_predictor_than_the_generated_one():
    """PREDICTOR: every register value but the generated predictor's index is refused, under
    the named code, for each predictor the generator builds; the host names the code."""
    import pytest

    from host.job import STATUS_ERROR, check_status
    from lapa.config import BUILT_PREDICTORS
    from lapa.errors import UserError
    from lapa.fields import param
    from rtl.soc.regmap import regmap_c_header

    p = param("predictor")
    for name in BUILT_PREDICTORS:
        hw = HW.replace(predictor=name)
        regs = register_map(hw)
        limits = {r.name: r for r in regs}["HW_LIMITS"]
        assert limits.fields[-1].name == "predictor" and limits.fields[-1].reset == p.encode(name)
        dut = ConfigCheck(bank_layout(regs, "rw"), max_seq_len=hw.max_seq_len, n_heads=hw.n_heads,
                          max_rounds=hw.max_rounds, predictor=name)

        async def bench(ctx):
            for reg in (r for r in regs if r.access == "rw"):   # every register at its reset value
                for f in reg.fields:
                    view = dut.config[reg.name.lower()]
                    view = view if len(reg.fields) == 1 else view[f.name]
                    ctx.set(view, f.reset)
            for raw in range(1 << p.width):
                ctx.set(dut.config.predictor, raw)
                want = "NONE" if raw == p.encode(name) else "PREDICTOR"
                assert ctx.get(dut.error) == ERROR_CODES[want], (name, raw)

        sim = Simulator(dut)
        sim.add_testbench(bench)
        sim.run()
    header = regmap_c_header(register_map(HW))
    assert f"#define LAPA_ERR_PREDICTOR {ERROR_CODES['PREDICTOR']}u" in header
    assert "LAPA_PREDICTOR_OFFSET" in header and "LAPA_HW_LIMITS_PREDICTOR_SHIFT 29u" in header
    with pytest.raises(UserError, match=r"refused the job: ERROR = 10 \(PREDICTOR\): PREDICTOR .* not the predictor generated"):
        check_status(STATUS_ERROR, ERROR_CODES["PREDICTOR"])
