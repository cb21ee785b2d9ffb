"""AXI4-Lite register bank against its register map (cocotbext-axi master), plus the generated docs."""

from lapa.config import HardwareConfig, LapaConfig
from rtl.generate import to_verilog
from rtl.regbank import RegisterBank
from rtl.regmap import regmap_c_header, regmap_markdown, register_map
from sim.runner import run_cocotb

CFG = LapaConfig(hw=HardwareConfig(d_model=32, head_dim=8, max_seq_len=64, n_heads=4, n_kv_heads=2))


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
                   ' LAPA_ROUND_BITS_B2_SHIFT, LAPA_ERROR_HEADS};\nint main(void){return (int)a[0];}\n')
    res = subprocess.run(["gcc", "-Wall", "-Werror", "-o", str(tmp_path / "use"), str(src)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = subprocess.run([str(tmp_path / "use")])
    assert out.returncode == next(r.offset for r in regs if r.name == "SEQ_LEN")
