"""CACTI 7 at 180 nm (flows/cacti.py): figures for real buffer shapes, their ordering, the
fallback shape for arrays CACTI cannot build, the cache, and refusals that name the input."""

import os

import pytest

from flows import cacti
from lapa.errors import UserError

needs_cacti = pytest.mark.skipif(not cacti.cacti_available(), reason="CACTI not built: bash setup.sh")


@needs_cacti
def test_real_shape_figures():
    r = cacti.sram(64, 1024, 1, 1)
    assert r["modelled_as"] == {"width_bytes": 8, "depth": 1024}
    for key in ("area_um2", "read_pj", "write_pj", "leakage_uw", "access_ns", "cycle_ns"):
        assert r[key] > 0, key
    # a 180 nm 6T cell is ~4-5 um^2; with periphery and a second port, well under 40 um^2/bit
    assert 3.0 < r["area_um2"] / (64 * 1024) < 40.0
    assert "CACTI 7" in r["source"] and "180 nm" in r["source"]


@needs_cacti
def test_bigger_buffers_cost_more():
    small, deep, wide = cacti.sram(32, 256), cacti.sram(32, 4096), cacti.sram(256, 256)
    assert deep["area_um2"] > small["area_um2"] and deep["leakage_uw"] > small["leakage_uw"]
    assert wide["read_pj"] > small["read_pj"] and wide["write_pj"] > small["write_pj"]
    one_port = cacti.sram(32, 256, 0, 0)       # a single read-write port: a smaller cell
    assert one_port["area_um2"] < small["area_um2"]


@needs_cacti
def test_shape_cacti_cannot_build_uses_the_next_one_up():
    r = cacti.sram(128, 24)                    # CACTI finds no organization for 16 B x 24
    assert r["modelled_as"]["depth"] >= 64 and r["width"] == 128 and r["depth"] == 24
    big = cacti.sram(128, r["modelled_as"]["depth"])
    assert r["area_um2"] == pytest.approx(big["area_um2"] * 24 / r["modelled_as"]["depth"])
    assert r["read_pj"] == pytest.approx(big["read_pj"])


@needs_cacti
def test_cached_per_configuration():
    cacti.sram(40, 200)
    runs = set(os.listdir(cacti.CACHE_DIR))
    again = cacti.sram(40, 200)
    assert set(os.listdir(cacti.CACHE_DIR)) == runs and again["area_um2"] > 0


@pytest.mark.parametrize("width, depth, name", [(0, 64, "width"), (8, -1, "depth"), (8.5, 64, "width")])
def test_bad_shape_refused(width, depth, name):
    with pytest.raises(UserError, match=rf"SRAM {name} = "):
        cacti.sram(width, depth)


def test_missing_binary_named(monkeypatch):
    monkeypatch.setattr(cacti, "CACTI_BIN", "/nonexistent/cacti")
    with pytest.raises(UserError, match="CACTI not found.*setup.sh"):
        cacti.sram(8, 64)
