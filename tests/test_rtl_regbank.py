"""AXI4-Lite register bank against its register map (cocotbext-axi master), plus the generated docs."""

from lapa.config import HardwareConfig, LapaConfig
from rtl.generate import to_verilog
from rtl.soc.regbank import RegisterBank
from rtl.soc.regmap import regmap_c_header, regmap_markdown, register_map
from sim.runner import run_cocotb

CFG = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, max_seq_len=64, n_heads=4, n_kv_heads=2,
                                   pea_lanes=8, peb_lanes=8, mac_rows=1, mac_cols=8, av_lanes=8))


def test_register_map_is_consistent():
    regs = register_map(CFG.hw)
    assert [r.offset for r in regs] == list(range(0, 4 * len(regs), 4))
    assert len({r.name for r in regs}) == len(regs)
    assert all(r.width <= 32 for r in regs)
    md, h = regmap_markdown(regs), regmap_c_header(regs)
    for r in regs:
        assert f"| 0x{r.offset:03X} | {r.name} |" in md
        assert f"#define LAPA_{r.name}_OFFSET 0x{r.offset:03X}u" in h
    # every SPEC 5 name has a register
    for name in ("causal", "rope", "sm_frac_bits", "m_o", "n_o", "sh_khat", "eta_frac_bits"):
        assert any(r.name == name.upper() for r in regs), name


def test_c_header_names_follow_its_conventions():
    """Every macro is defined once; _OFFSET only for registers, _SHIFT / _MASK only for fields,
    error codes under LAPA_ERR_ (the old LAPA_ERROR_SHIFT read as the ERROR register's shift)."""
    import re

    import pytest

    from rtl.soc import regmap

    regs = register_map(CFG.hw)
    names = re.findall(r"^#define (LAPA_\w+) ", regmap_c_header(regs), re.M)
    assert len(names) == len(set(names))
    fields = {f"LAPA_{r.name}_{f.name.upper()}" for r in regs for f in r.fields}
    for name in names:
        if name.endswith(("_SHIFT", "_MASK")):
            assert name.rsplit("_", 1)[0] in fields, name
        elif name.endswith("_OFFSET"):
            assert name[5:-7] in {r.name for r in regs}, name
        else:
            assert name.startswith("LAPA_ERR_") and name[9:] in regmap.ERROR_CODES, name
    codes = dict(regmap.ERROR_CODES)
    try:
        regmap.ERROR_CODES["SHIFT"] = 6   # a code named like a field macro is refused
        with pytest.raises(ValueError, match="SHIFT: ends like a register macro"):
            regmap_c_header(regs)
    finally:
        regmap.ERROR_CODES.clear()
        regmap.ERROR_CODES.update(codes)
    with pytest.raises(ValueError, match="defined twice"):
        regmap_c_header(regs + [regs[1]])


def test_wide_counters_cover_the_largest_configuration():
    """CYCLES_* hold the cycle bound of the largest configuration with the narrowest lanes, and
    PAIRS_ROUND* every pair of every head at the longest length."""
    from host.job import cycle_bound
    from lapa.config import HardwareConfig
    from rtl.soc.regmap import COUNTER_BITS, pairs_bits

    big = HardwareConfig(d_model=16384, head_dim=512, max_seq_len=65536, n_heads=256, n_kv_heads=256,
                         pea_lanes=1, peb_lanes=1, mac_rows=1, mac_cols=1, av_lanes=1)
    bound = cycle_bound((65536, 16384, 512, 256, 256), big)
    assert bound >= 1 << 32          # 32-bit counters were not enough
    assert bound < 1 << COUNTER_BITS
    assert pairs_bits(big) == 41 and (256 * 65536 * 65536) < 1 << pairs_bits(big)
    regs = {r.name: r for r in register_map(big)}
    assert regs["CYCLES_TOTAL"].width + regs["CYCLES_TOTAL_HI"].width == COUNTER_BITS
    assert regs["PAIRS_ROUND1"].width + regs["PAIRS_ROUND1_HI"].width == 41


def test_rtl_regbank(simulator):
    bank = RegisterBank(register_map(CFG.hw))
    run_cocotb(to_verilog(bank, "regbank"), "regbank", "sim.regbank", simulator=simulator, config=CFG)


def test_c_header_compiles(tmp_path):
    import shutil
    import subprocess

    import pytest

    if not shutil.which("gcc"):
        pytest.skip("no C compiler")
    regs = register_map(CFG.hw)
    (tmp_path / "lapa_regs.h").write_text(regmap_c_header(regs))
    src = tmp_path / "use.c"
    src.write_text('#include "lapa_regs.h"\nunsigned a[] = {LAPA_SEQ_LEN_OFFSET, LAPA_CTRL_START_MASK,'
                   ' LAPA_ROUND_BITS_B2_SHIFT, LAPA_ERR_HEADS, LAPA_ERROR_CODE_MASK,'
                   ' LAPA_ERR_SHIFT_RANGE, LAPA_CYCLES_TOTAL_HI_OFFSET};\nint main(void){return (int)a[0];}\n')
    res = subprocess.run(["gcc", "-Wall", "-Werror", "-o", str(tmp_path / "use"), str(src)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = subprocess.run([str(tmp_path / "use")])
    assert out.returncode == next(r.offset for r in regs if r.name == "SEQ_LEN")
