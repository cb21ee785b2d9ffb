"""`build.py sweep`: a small sweep on a LocalCluster of 2 workers gives the golden model's numbers
for every point, shares jobs between points that agree on a task's parameters, survives a worker
killed mid-sweep (its job runs again elsewhere; nothing lost or duplicated), resumes without
rerunning a finished job, records a failed job and goes on, and refuses malformed sweep files
with one line naming the field (exit 2)."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from dse.codeversion import code_version
from dse.pareto import front
from dse.points import Job, plan
from dse.runner import Progress, execute, open_client, run_jobs, run_sweep
from dse.spec import load_sweep
from dse.store import Store
from dse.tasks import TASKS
from lapa.cli import main

TINY = """
[sweep]
name = "t"
tasks = {tasks}

[fixed]
d_model = 32
head_dim = 8
n_heads = 2
n_kv_heads = 1
peb_lanes = 2
mac_rows = 2
mac_cols = 2
av_lanes = 2
seq_len = {L}

[axes]
pea_lanes = [2, 4]
predictor = ["lapa", "sanger", "topk"]
setting = ["m4", "m8"]

[settings.m4]
ddf_mode = "margin"
margin_nats = [4.0]

[settings.m8]
ddf_mode = "margin"
margin_nats = [8.0]
topk_keep = 0.5
"""


def _write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _tiny(L=16, tasks=("work",)):
    return TINY.format(L=L, tasks=json.dumps(list(tasks)))


def _sweep(tmp_path, L=16, tasks=("work",)):
    return load_sweep(_write(tmp_path, _tiny(L, tasks)))


def test_pareto_front():
    xs = [1, 2, 3, 2, 1, 4]
    ys = [5, 3, 1, 4, 5, 0.5]
    assert front(xs, ys) == [0, 4, 1, 2, 5]          # (2, 4) is beaten by (2, 3); ties both kept
    assert front([1], [1]) == [0]


def test_small_sweep_on_two_workers(tmp_path):
    out = tmp_path / "out"
    assert main(["sweep", _write(tmp_path, _tiny(16, ("work", "energy"))), "--out", str(out), "--workers", "2",
                 "--dashboard", ":0", "--quiet"]) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 3 * 2
    report = json.loads((out / "report.json").read_text())
    # pea_lanes does not enter the work task: 12 points, 6 jobs
    assert report["counts"]["work"] == {"jobs": 6, "ok": 6, "failed": 0, "not run": 0, "skip": 0}
    assert report["unavailable"] == {}
    # energy: lapa only (sanger and topk have no hardware yet); pea_lanes enters it: 4 jobs
    assert report["counts"]["energy"] == {"jobs": 4, "ok": 4, "failed": 0, "not run": 0, "skip": 8}
    assert len(os.listdir(out / "points")) == 6 + 4
    # every point's numbers are the golden model's on the same example layer
    from golden.calibration import topk_for_density, topk_from_ratio
    from golden.example import example_layer
    from golden.model import run_layer

    from evaluation.sweep import DEFAULT_SETTING
    from lapa.vectors import LayerInputs

    def gold(predictor, margin, topk_k=None):   # the settings inherit the default's round bits
        cal = example_layer(16, 32, 8, 2, 1, ddf_mode="margin", margin_nats=(margin, margin),
                            eta=(1.0, 1.0), predictor=predictor, topk_k=topk_k,
                            round_bits=DEFAULT_SETTING.round_bits)
        out = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
        out["inputs"] = LayerInputs(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
        return out

    for r in rows:
        a = r["axes"]
        got = r["tasks"]["work"]["result"]
        margin = {"m4": 4.0, "m8": 8.0}[a["setting"]]
        k = None
        if a["predictor"] == "topk":   # m8 keeps half of L; m4 'match'es LAPA's density
            lapa = gold("lapa", margin)
            k = topk_from_ratio(0.5, 16) if a["setting"] == "m8" else \
                topk_for_density(lapa["mask"].sum() / lapa["round_candidates"][:, 0].sum(), 16)
            assert got["topk_k"] == k
        g = gold(a["predictor"], margin, k)
        assert got["exec_macs"] == int(g["exec_macs"]), r["point"]
        assert got["mask_nnz"] == int(g["mask"].sum()), r["point"]
        assert got["key_needed"] == int(g["key_needed"].sum()), r["point"]
        assert got["exec_reduction"] == float(g["exec_reduction"]), r["point"]
        e = r["tasks"]["energy"]
        if a["predictor"] != "lapa":
            assert e["status"] == "skip" and "hardware does not exist yet" in e["reason"]
            continue
        _check_energy(e["result"], r["point"], a["pea_lanes"], g)
    md = (out / "report.md").read_text()
    assert "| work | 6 | 6 | 0 | 0 | 0 |" in md and "| energy | 4 | 4 | 0 | 0 | 8 |" in md
    assert "energy_table_small.json" in md


def _check_energy(e, where, pea_lanes, gold):
    """An energy record of the tiny sweep: the committed table named, its split adds up, the
    work is the golden model's, cycles are the perf cycle model's on the golden outputs (no cycles
    task in this sweep), labelled so, and the figures are those of
    energy.layer on the same work with CACTI at the point's own buffer shapes."""
    from dse.tasks.energy import SMALL_TABLE
    from energy.layer import layer_energy, model_cycles
    from energy.srams import target_srams
    from energy.table import load_table
    from lapa.config import HardwareConfig

    assert e["table"]["path"] == SMALL_TABLE and e["table"]["kind"] == "the committed small-configuration table"
    assert e["split_pj"]["speculation"] > 0 and e["split_pj"]["execution"] > 0, where
    assert sum(e["split_pj"].values()) == pytest.approx(e["energy_pj"], rel=1e-12)
    assert e["sram_pj"] <= e["split_pj"]["memory"]
    w = e["work"]
    assert (w["nnz"], w["key_needed"]) == (int(gold["mask"].sum()), int(gold["key_needed"].sum())), where
    assert w["scored_pairs"] == int(gold["round_candidates"].sum())
    hw = HardwareConfig(d_model=32, head_dim=8, n_heads=2, n_kv_heads=1, pea_lanes=pea_lanes, peb_lanes=2,
                        mac_rows=2, mac_cols=2, av_lanes=2)
    cycles, source = model_cycles(gold["inputs"], gold, hw)
    assert not e["cycles_measured"] and e["cycles_source"] == source and source.startswith("perf cycle model")
    assert e["cycles"] == cycles > 0
    assert not e["area_scaled"] and "unscaled" in e["static_source"]
    table = load_table(os.path.join(os.path.dirname(__file__), "data", "energy_table_small.json"))
    srams, notes = target_srams(table, hw)
    assert notes == e["sram"] and not notes["table_figures_for"]
    ref = layer_energy(table, w, hw, None, srams, cycles=cycles, cycles_source=source)
    assert e["energy_pj"] == pytest.approx(ref["total_pj"], rel=1e-12), where


def test_resume_runs_no_finished_job(tmp_path):
    sweep = _sweep(tmp_path)
    out = str(tmp_path / "out")
    _, jobs, _, records, meta = run_sweep(sweep, out, workers=1, dashboard=":0", quiet=True)
    assert meta["ran"] == len(jobs) == 6 and all(r["status"] == "ok" for r in records.values())
    store = Store(out)
    stamps = {k: os.stat(store.path(k)).st_mtime_ns for k in jobs}
    _, _, _, again, meta2 = run_sweep(sweep, out, workers=1, dashboard=":0", quiet=True)
    assert meta2["ran"] == 0 and meta2["kept"] == 6
    assert {k: os.stat(store.path(k)).st_mtime_ns for k in jobs} == stamps
    assert again == records
    lost = sorted(jobs)[2]
    os.unlink(store.path(lost))                      # a job lost in a crash runs again, alone
    _, _, _, third, meta3 = run_sweep(sweep, out, workers=1, dashboard=":0", quiet=True)
    assert meta3["ran"] == 1 and store.done(lost)
    assert {k: os.stat(store.path(k)).st_mtime_ns for k in jobs if k != lost} == \
        {k: v for k, v in stamps.items() if k != lost}
    assert third[lost]["result"] == records[lost]["result"]


def test_worker_killed_mid_sweep(tmp_path):
    """SIGKILL a worker while it runs a job: the scheduler gives the job to another worker and
    the result set is complete, one record per job."""
    sweep = _sweep(tmp_path, L=256)
    codes = {"work": code_version(TASKS["work"].sources)}
    _, jobs, _ = plan(sweep, codes)
    store = Store(str(tmp_path / "out"))
    progress = Progress(len(jobs), 0, quiet=True)
    with open_client(workers=2, dashboard=":0") as client:
        pids = client.run(os.getpid)
        result = {}
        runner = threading.Thread(target=lambda: result.update(
            records=run_jobs(client, list(jobs.values()), store, progress)))
        runner.start()
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            busy = {w: ks for w, ks in client.processing().items() if ks}
            if busy and any(store.load(k) is None for k in jobs):
                victim = sorted(busy)[0]
                running = set(busy[victim])
                os.kill(pids[victim], signal.SIGKILL)
            time.sleep(0.05)
        runner.join(180)
        assert not runner.is_alive()
    assert victim is not None, "no job was seen running"
    records = result["records"]
    assert sorted(records) == sorted(jobs)                     # nothing lost
    assert sorted(store.keys()) == sorted(jobs)                # nothing duplicated
    assert all(r["status"] == "ok" for r in records.values()), [r.get("error") for r in records.values()]
    moved = [records[k.split("-", 1)[1]] for k in running]
    assert moved and all(r["worker"] != victim for r in moved)  # ran again elsewhere
    print(f"killed {victim} (pid {pids[victim]}) while it held {len(running)} job(s); they ran again on "
          f"{sorted({r['worker'] for r in moved})}; {len(records)}/{len(jobs)} jobs stored once each")
    # the numbers are those of the same jobs run here, outside Dask
    for k, j in jobs.items():
        assert execute(j.task, j.params, j.code, k)["result"] == records[k]["result"]


def test_failed_job_is_recorded_and_the_sweep_goes_on(tmp_path):
    sweep = _sweep(tmp_path)
    _, jobs, _ = plan(sweep, {"work": code_version(TASKS["work"].sources)})
    jobs = list(jobs.values())
    bad = Job(jobs[0].task, "f" * 20, jobs[0].params, "src-0000000000000000", "bad")
    store = Store(str(tmp_path / "out"))
    with open_client(workers=2, dashboard=":0") as client:
        records = run_jobs(client, [bad] + jobs[1:3], store, Progress(3, 0, quiet=True))
    assert records[bad.key]["status"] == "failed" and "other work sources" in records[bad.key]["error"]
    assert all(records[j.key]["status"] == "ok" for j in jobs[1:3])
    assert store.load(bad.key)["status"] == "failed"


def test_heavy_jobs_need_a_heavy_worker(tmp_path):
    """A cluster whose workers offer no 'heavy' resource is refused before a heavy job is sent
    (it would wait forever)."""
    from distributed import Client, LocalCluster

    from dse.runner import _check_heavy
    from lapa.errors import UserError

    heavy = Job("synth", "k", {}, "v", "p")
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, Client(cluster) as client:
        _check_heavy(client, [Job("work", "k", {}, "v", "p")])      # light jobs: fine
        with pytest.raises(UserError, match="no worker offers the 'heavy' resource the synth jobs need"):
            _check_heavy(client, [heavy])


def test_execute_records_a_raising_task():
    from evaluation.sweep import DEFAULT_SETTING

    params = {"seq_len": 16, "d_model": 32, "head_dim": 8, "n_heads": 2, "n_kv_heads": 1,
              "causal": True, "rope": False, "predictor": "lapa", "setting": DEFAULT_SETTING.to_dict()}
    rec = execute("work", params, code_version(TASKS["work"].sources), "k")   # no 'seed'
    assert rec["status"] == "failed" and rec["error"] == "KeyError: 'seed'" and "seed" in rec["traceback"]
    rec = execute("work", {**params, "seed": 1}, code_version(TASKS["work"].sources), "k")
    assert rec["status"] == "ok" and rec["result"]["shape"]["L"] == 16


BAD = [
    ("[sweep]\ntasks = ['work']\n[fixed]\npea_lane = 4\n", "fixed.pea_lane: unknown parameter"),
    ("[sweep]\ntasks = ['work']\n[axes]\npea_lanes = [4, 'x']\n", "axes.pea_lanes[1] = 'x': expected an integer"),
    ("[sweep]\ntasks = ['work']\n[axes]\nseq_len = []\n", "axes.seq_len: empty axis"),
    ("[sweep]\ntasks = ['work']\n[axes]\nseq_len = 16\n", "axes.seq_len = 16: expected a list"),
    ("[sweep]\ntasks = ['synth']\n[fixed]\nliberty = '/no/such.lib'\n", "fixed.liberty = '/no/such.lib': no such file"),
    ("[sweep]\ntasks = ['work', 'place']\n", "sweep.tasks: unknown task 'place'"),
    ("[sweep]\n", "sweep.tasks: missing"),
    ("[sweep]\ntasks = ['work']\nsize = 3\n", "sweep.size: unknown field"),
    ("[swep]\ntasks = ['work']\n", "[swep]: unknown table"),
    ("[sweep]\ntasks = ['work']\n[axes]\nsetting = ['m9']\n", "setting 'm9': no [settings.m9] table"),
    ("[sweep]\ntasks = ['work']\n[settings.a]\nddf_mode = 'margin'\nmargin_nats = 'x'\n",
     "settings.a.margin_nats = 'x': expected a list of numbers"),
    ("[sweep]\ntasks = ['work']\n[settings.a]\neta = [2.0]\n", "settings.a: eta = (2.0, 2.0): each must be in 0..1"),
    ("[sweep]\ntasks = ['work']\n[axes]\npea_lanes = [0]\n", "point pea_lanes=0: pea_lanes = 0: out of range"),
    ("[sweep]\ntasks = ['work']\n[fixed]\ncausal = 2\n", "fixed.causal = 2: expected 0 or 1"),
    ("[sweep]\ntasks = ['work']\n[tasks.cycles]\nseq_len = 0\n", "tasks.cycles.seq_len = 0: out of range"),
    ("[sweep]\ntasks = ['work']\n[axes]\npredictor = ['lapa', 'fact']\n", "axes.predictor[1] = 'fact': must be one of"),
    ("[sweep]\ntasks = 'work'\n", "sweep.tasks = 'work': expected a non-empty list"),
    ("[sweep\n", "not valid TOML"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_malformed_sweep_file(tmp_path, capsys, text, message):
    path = _write(tmp_path, text)
    assert main(["sweep", path, "--out", str(tmp_path / "out"), "--dashboard", ":0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ") and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["missing", "folder", "out", "scheduler", "workers", "no_eval", "bad_eval"])
def test_bad_paths_and_options(tmp_path, capsys, where):
    good = _write(tmp_path, _tiny(16))
    out = str(tmp_path / "out")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "report.json").write_text('{"results": [{"predictor": "lapa"}]}')
    args = {"missing": [str(tmp_path / "nope.toml"), "--out", out], "folder": [str(tmp_path), "--out", out],
            "out": [good, "--out", str(tmp_path / "no" / "such" / "dir")],
            "scheduler": [good, "--scheduler", "tcp://nowhere", "--out", out],
            "workers": [good, "--workers", "0", "--out", out],
            "no_eval": [good, "--from-eval", str(tmp_path / "no"), "--out", out],
            "bad_eval": [good, "--from-eval", str(tmp_path / "ev"), "--out", out]}[where]
    assert main(["sweep", *args, "--dashboard", ":0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert {"missing": "no such file", "folder": "is a folder", "out": "does not exist",
            "scheduler": "not a scheduler address", "workers": "--workers = 0",
            "no_eval": "--from-eval", "bad_eval": "a result without predictor / ppl_change"}[where] in err
    assert not (tmp_path / "no").exists() and not (tmp_path / "out").exists()


def test_shared_jobs_and_out_of_reach(tmp_path):
    """synth is shared by every point of one hardware shape; cycles skips non-lapa predictors."""
    text = _tiny(16, ("synth", "cycles", "work")) \
        .replace("d_model = 32", "d_model = 32\nmax_seq_len = 16")
    sweep = load_sweep(_write(tmp_path, text))
    codes = {t: "v" for t in sweep.tasks}
    pts, jobs, cells = plan(sweep, codes)
    assert len(pts) == 12
    assert sum(j.task == "synth" for j in jobs.values()) == 2       # one per pea_lanes
    assert sum(j.task == "cycles" for j in jobs.values()) == 4      # lapa x 2 settings x 2 lanes
    skipped = [c["cycles"] for c in cells if isinstance(c["cycles"], tuple)]
    assert len(skipped) == 8 and all("lapa predictor only" in why for _, why in skipped)
    assert np.all([isinstance(c["synth"], str) for c in cells])


def test_report_fronts_from_records(tmp_path):
    """The report joins each point's jobs, draws both Pareto plots and puts exactly the
    non-dominated points on each front (fabricated records: no synthesis or model run here)."""
    from dse.report import write_report

    text = _tiny(16, ("synth", "cycles", "eval")) \
        .replace("d_model = 32", "d_model = 32\nmax_seq_len = 16")
    sweep = load_sweep(_write(tmp_path, text))
    pts, jobs, cells = plan(sweep, {t: "v" for t in ("synth", "cycles", "eval")})
    area = {2: 900.0, 4: 1000.0}
    ppl = {("lapa", "m4"): 0.02, ("lapa", "m8"): 0.01, ("sanger", "m4"): 0.005, ("sanger", "m8"): 0.03,
           ("topk", "m4"): 0.04, ("topk", "m8"): 0.04}
    records = {}
    for key, j in jobs.items():
        p = j.params
        if j.task == "synth":
            res = {"area_um2": area[p["pea_lanes"]], "fmax_mhz": 100.0}
        elif j.task == "cycles":
            res = {"cycles": 5000 // p["pea_lanes"] + int(p["setting"]["margin_nats"][0]), "ideal_cycles": 1000,
                   "cycles_over_ideal": 1.5, "bit_exact": True, "shape": {"L": 16}}
        else:
            name = "m4" if p["setting"]["margin_nats"][0] == 4.0 else "m8"
            red = {"lapa": 0.0, "topk": 0.0, "sanger": 0.3}[p["predictor"]]
            res = {"ppl_change": ppl[(p["predictor"], name)], "density": 0.2,
                   "exec_reduction": (0.5 if name == "m4" else 0.3) - red}
        records[key] = {"key": key, "status": "ok", "result": res}
    meta = {"wall_s": 1.0, "workers": 2, "scheduler": None, "ran": len(jobs), "kept": 0,
            "code_versions": {}, "git": None}
    rec = write_report(sweep, str(tmp_path), pts, cells, records, meta)
    ac = rec["fronts"]["area_cycles"]
    # lapa points only (cycles): pea 4 is faster (1254 / 1258) but larger than pea 2 (2504 / 2508)
    assert ac["n_points"] == 4
    assert [(p["cycles"], p["area_um2"]) for p in ac["points"]] == [(1254, 1000.0), (2504, 900.0)]
    wp = rec["fronts"]["work_ppl"]
    assert wp["n_points"] == 6                          # eval does not depend on the lanes
    # (PPL %, exec %): sanger m4 (0.5, 80), lapa m8 (1, 70), lapa m4 (2, 50) beat topk m4 (4, 50) etc.
    assert [p["label"] for p in wp["points"]] == ["sanger m4", "lapa m8", "lapa m4"]
    for name in ("pareto-area-cycles.png", "pareto-work-ppl.png", "report.md", "results.jsonl"):
        assert (tmp_path / name).stat().st_size > 0
    md = (tmp_path / "report.md").read_text()
    assert "predictor sanger: the RTL backend builds the lapa predictor only" in md
    assert "Energy against perplexity change: not drawn" in md


def test_cycles_task_model_backend(tmp_path):
    """backend = "model": the cycles task reaches lapa, dense (and symlo) points (the RTL path only lapa) and
    runs the perf cycle model in-process: its counters are the golden work's, bit_exact is None."""
    text = _tiny(16, ("cycles",)) \
        .replace("d_model = 32", 'd_model = 32\nmax_seq_len = 16\nbackend = "model"') \
        .replace('predictor = ["lapa", "sanger", "topk"]', 'predictor = ["lapa", "dense", "sanger", "symlo"]') \
        .replace("pea_lanes = [2, 4]", "pea_lanes = [2]")
    sweep = load_sweep(_write(tmp_path, text))
    pts, jobs, cells = plan(sweep, {"cycles": "v"})
    skipped = [c["cycles"] for c in cells if isinstance(c["cycles"], tuple)]
    assert len(skipped) == 2 and all("lapa, dense and symlo only" in why for _, why in skipped)
    got = {}
    for j in jobs.values():
        rec = TASKS["cycles"].function()(j.params)
        got[(j.params["predictor"], j.params["setting"]["margin_nats"][0])] = rec
        assert rec["backend"] == "model" and rec["bit_exact"] is None and rec["cycles"] > rec["ideal_cycles"] > 0
        assert rec["kv_rows"] == rec["key_needed"]
    dense = [rec for (pred, _), rec in got.items() if pred == "dense"]    # one job for both settings
    assert len(got) == 5 and len(dense) == 1 and dense[0]["cycles_spec"] == 0 < got[("lapa", 4.0)]["cycles_spec"]
    assert got[("symlo", 4.0)]["cycles_spec"] > 0 and got[("symlo", 4.0)]["pairs_round1"] > 0


def test_dense_energy_without_cycles_job_uses_the_cycle_model(tmp_path):
    """dense on the RTL backend has no cycles job (no dense RTL build): its energy uses the perf
    cycle model's cycles, equal to those its backend = 'model' point reads from its cycles job.
    (Before: the ideal x CYCLE_RATIO estimate, a ratio measured on lapa, 5.4x below the model for
    dense at L = 1024 in sweeps/lanes1024.toml.)"""
    text = _tiny(16, ("cycles", "energy")) \
        .replace("d_model = 32", "d_model = 32\nmax_seq_len = 16") \
        .replace('predictor = ["lapa", "sanger", "topk"]', 'predictor = ["dense"]\nbackend = ["rtl", "model"]') \
        .replace("pea_lanes = [2, 4]", "pea_lanes = [2]").replace('setting = ["m4", "m8"]', 'setting = ["m4"]')
    sweep = load_sweep(_write(tmp_path, text))
    pts, jobs, cells = plan(sweep, {"cycles": "v", "energy": "v"})
    by = {p["backend"]: c for p, c in zip(pts, cells)}
    assert isinstance(by["rtl"]["cycles"], tuple) and "lapa predictor only" in by["rtl"]["cycles"][1]
    model_cyc = TASKS["cycles"].function()(jobs[by["model"]["cycles"]].params)
    energy = TASKS["energy"].function()
    e_rtl = energy(jobs[by["rtl"]["energy"]].params, {})
    e_model = energy(jobs[by["model"]["energy"]].params, {"cycles": {"status": "ok", "result": model_cyc}})
    assert e_rtl["cycles"] == e_model["cycles"] == model_cyc["cycles"] > 0
    assert e_rtl["cycles_source"].startswith("perf cycle model") and not e_rtl["cycles_measured"]
    assert e_rtl["energy_pj"] == pytest.approx(e_model["energy_pj"], rel=1e-12)


def test_report_energy_front_dense_and_from_eval(tmp_path):
    """Energy against PPL change from energy records and an eval report given with --from-eval
    (matched by predictor, setting label and ctx: a field the predictor does not read is ignored); dense's area is the design without its speculation
    unit and its cycles the energy task's model (the RTL builds lapa only), drawn as model points
    (fabricated records: no synthesis or model run here)."""
    from dse.report import eval_lookup, write_report

    text = _tiny(16, ("synth", "cycles", "energy")).replace('"sanger", "topk"', '"dense"') \
        .replace("d_model = 32", "d_model = 32\nmax_seq_len = 16")
    sweep = load_sweep(_write(tmp_path, text))
    pts, jobs, cells = plan(sweep, {t: "v" for t in sweep.tasks})
    records = {}
    for key, j in jobs.items():
        p = j.params
        m = p["setting"]["margin_nats"][0] if "setting" in p else 0.0
        if j.task == "synth":
            res = {"area_um2": 1000.0 + p["pea_lanes"], "fmax_mhz": 100.0,
                   "units": {"speculation": {"area_um2": 400.0 + p["pea_lanes"]}, "execution": {"area_um2": 600.0}},
                   "blocks": {"speculation": {"unit": "speculation", "fmax_mhz": 90.0},
                              "execution": {"unit": "execution", "fmax_mhz": 120.0}}}
        elif j.task == "cycles":
            res = {"cycles": 5000 // p["pea_lanes"] + int(m), "ideal_cycles": 1000, "cycles_over_ideal": 1.5,
                   "bit_exact": True, "shape": {"L": 16}}
        else:
            dense = p["predictor"] == "dense"
            res = {"energy_pj": 1e6 * ((3 if dense else m / 4) + p["pea_lanes"] / 100),
                   "cycles": 3000 + p["pea_lanes"],
                   "cycles_measured": not dense, "edp_pj_s": 1.0, "work": {"L": 16}, "area_scaled": True,
                   "split_pj": dict.fromkeys(("speculation", "execution", "memory", "control"), 1.0),
                   "table": {"path": "t.json", "kind": "k", "key": "x"}, "static_source": "scaled"}
        records[key] = {"key": key, "status": "ok", "result": res}
    setting = {n: sweep.settings[n].to_dict() for n in ("m4", "m8")}
    label = {n: sweep.settings[n].label for n in ("m4", "m8")}
    setting["m8"]["eta"] = [0.25] * len(setting["m8"]["eta"])   # not read in margin mode: still matches
    ev = {"results": [{"predictor": "dense", "ctx": 1024, "setting": None, "ppl_change": 0.0, "label": "causal",
                       "exec_reduction": 0.0, "density": 1.0},
                      {"predictor": "lapa", "ctx": 1024, "setting": setting["m8"], "ppl_change": 0.01, "label": label["m8"],
                       "exec_reduction": 0.3, "density": 0.2},
                      {"predictor": "lapa", "ctx": 512, "setting": setting["m4"], "ppl_change": 0.05, "label": label["m4"],
                       "exec_reduction": 0.5, "density": 0.1}]}
    meta = {"wall_s": 1.0, "workers": 2, "scheduler": None, "ran": len(jobs), "kept": 0,
            "code_versions": {}, "git": None}
    rec = write_report(sweep, str(tmp_path), pts, cells, records, meta, ("ev.json", eval_lookup(ev, "ev.json")))
    by = {(r["axes"]["pea_lanes"], r["axes"]["predictor"], r["axes"]["setting"]): r["metrics"] for r in rec["points"]}
    assert by[(2, "dense", "m4")]["area_um2"] == 600.0 and by[(2, "lapa", "m4")]["area_um2"] == 1002.0
    assert by[(2, "dense", "m4")]["fmax_mhz"] == 120.0 and by[(2, "lapa", "m4")]["fmax_mhz"] == 100.0
    assert "ppl_change" not in by[(2, "lapa", "m4")]            # its eval figure is at ctx 512, not 1024
    assert by[(4, "lapa", "m8")]["ppl_change"] == 0.01 and by[(4, "dense", "m4")]["ppl_change"] == 0.0
    ac = rec["fronts"]["area_cycles"]
    # lapa measured (4 cycles jobs) and dense modelled (one energy job per lane count: dense has no
    # DDF setting); pea 4 dense (3004, 600) is beaten by pea 2 dense (3002, 600)
    assert ac["n_points"] == 6
    assert [(p["cycles"], p["area_um2"], p["cycles_kind"]) for p in ac["points"]] == \
        [(1254, 1004.0, "measured"), (2504, 1002.0, "measured"), (3002, 600.0, "model")]
    assert sum(isinstance(c["energy"], str) and jobs[c["energy"]].params["predictor"] == "dense" for c in cells) == 4
    assert len({c["energy"] for c in cells if jobs[c["energy"]].params["predictor"] == "dense"}) == 2
    ep = rec["fronts"]["energy_ppl"]
    # (PPL %, uJ): dense (0, 3.02 / 3.04), lapa m8 pea 2 (1, 2.02), pea 4 (1, 2.04); lapa m4: no PPL
    assert ep["n_points"] == 4
    assert [(p["label"], p["ppl_change_pct"], p["energy_uj"]) for p in ep["points"]] == \
        [("pea2 dense m4", 0.0, 3.02), ("pea2 lapa m8", 1.0, 2.02)]
    assert (tmp_path / "pareto-energy-ppl.png").stat().st_size > 0
    md = (tmp_path / "report.md").read_text()
    assert "Energy against perplexity change (`pareto-energy-ppl.png`; 2 of 4" in md


ENERGY = """
[sweep]
name = "e"
tasks = ["energy", "cycles", "synth"]

[fixed]
d_model = 32
head_dim = 8
n_heads = 2
n_kv_heads = 1
max_seq_len = 16
pea_lanes = 2
peb_lanes = 2
mac_rows = 2
mac_cols = 2
av_lanes = 2
seq_len = 16

[axes]
predictor = ["lapa", "dense", "topk"]

[tasks.cycles]
seq_len = {cycles_L}
"""


def test_energy_jobs_read_the_points_cycles_and_synth(tmp_path):
    """energy reads the same point's cycles and synth jobs (their keys enter its own), but not a
    cycles job at another L; dense has no cycles job (no RTL) and topk no energy (no hardware)."""
    sweep = load_sweep(_write(tmp_path, ENERGY.format(cycles_L=16)))
    pts, jobs, cells = plan(sweep, {t: "v" for t in sweep.tasks})
    lapa, dense, topk = cells
    assert jobs[lapa["energy"]].deps == {"cycles": lapa["cycles"], "synth": lapa["synth"]}
    assert jobs[dense["energy"]].deps == {"synth": dense["synth"]} and isinstance(dense["cycles"], tuple)
    assert topk["energy"][0] == "skip" and "hardware does not exist yet" in topk["energy"][1]
    assert jobs[lapa["energy"]].params["energy_table"]["path"] == os.path.join("tests", "data",
                                                                               "energy_table_small.json")
    other = load_sweep(_write(tmp_path, ENERGY.format(cycles_L=8), "o.toml"))
    _, jobs2, cells2 = plan(other, {t: "v" for t in other.tasks})
    assert jobs2[cells2[0]["energy"]].deps == {"synth": cells2[0]["synth"]}   # cycles at L 8: not this L 16
    assert cells2[0]["energy"] != lapa["energy"] and cells2[1]["energy"] == dense["energy"]


def test_design_srams_are_the_netlists_macros():
    """The SRAM macros found in the elaborated design are those of the gate-level netlist the
    committed table was measured on: same paths, widths and depths."""
    from energy.srams import design_srams
    from energy.table import load_table
    from lapa.config import HardwareConfig

    table = load_table(os.path.join(os.path.dirname(__file__), "data", "energy_table_small.json"))
    got = design_srams(HardwareConfig(**table["config"]["hw"]))
    assert {p: v[:2] for p, v in got.items()} == {p: (s["width"], s["depth"]) for p, s in table["srams"].items()}
    # a netlist's list: the job's access counts come per macro with its ports
    assert {p: (w, d, rp, wp) for p, w, d, rp, wp, *_ in table["windows"]["job1"]["srams"]} == got


def test_failed_energy_point_is_recorded_with_its_error(tmp_path):
    """An energy job whose point's cycles job failed is recorded as failed naming it, on Dask
    (the dependency is a future) and the sweep goes on; so is one whose table is not the sweep's."""
    sweep = load_sweep(_write(tmp_path, ENERGY.format(cycles_L=16).replace(', "synth"]', "]")))
    codes = {t: code_version(TASKS[t].sources) for t in sweep.tasks}
    codes["cycles"] = "src-0000000000000000"          # a worker refuses it: cycles fails at once
    _, jobs, cells = plan(sweep, codes)
    lapa, dense = cells[0], cells[1]
    todo = [jobs[lapa["energy"]], jobs[lapa["cycles"]]]
    store = Store(str(tmp_path / "out"))
    with open_client(workers=2, dashboard=":0") as client:
        records = run_jobs(client, todo, store, Progress(2, 0, quiet=True))
    assert records[lapa["cycles"]]["status"] == "failed"
    e = records[lapa["energy"]]
    assert e["status"] == "failed" and e["error"].startswith("RuntimeError: the point's cycles job failed: worker")
    assert "other cycles sources" in e["error"] and store.load(lapa["energy"])["status"] == "failed"
    j = jobs[dense["energy"]]
    bad = {**j.params, "energy_table": {**j.params["energy_table"], "sha256": "0" * 64}}
    rec = execute("energy", bad, j.code, "k", None)
    assert rec["status"] == "failed" and "differs from the sweep's" in rec["error"]


@pytest.mark.slow
def test_energy_from_the_points_rtl_run(tmp_path):
    """With the point's cycles job, energy takes the RTL's cycles and its actions (mask,
    key_needed, PAIRS_ROUND counters); with synth, the point's logic area scales idle and leakage.
    One Verilator build and two small syntheses at the tiny shape (cached in build/)."""
    from dse.tasks.energy import _table
    from energy.compare import _area_scale
    from energy.layer import layer_energy
    from energy.srams import target_srams
    from dse.tasks.layer import example_inputs
    from golden.model import run_layer
    from lapa.config import HardwareConfig

    sweep = load_sweep(_write(tmp_path, ENERGY.format(cycles_L=16).replace('"dense", "topk"', '"dense"')
                              .replace("seq_len = 16\n", 'seq_len = 16\nblock = "speculation,execution"\n', 1)))
    _, jobs, cells, records, meta = run_sweep(sweep, str(tmp_path / "out"), workers=2, dashboard=":0", quiet=True)
    assert meta["failed"] == 0, [r.get("error") for r in records.values()]
    lapa, dense = cells
    c, s = records[lapa["cycles"]]["result"], records[lapa["synth"]]["result"]
    e = records[lapa["energy"]]["result"]
    assert records[lapa["energy"]]["deps"] == {"cycles": lapa["cycles"], "synth": lapa["synth"]}
    assert c["bit_exact"] and e["cycles_measured"] and e["cycles"] == c["cycles"]
    assert e["cycles_source"] == "measured: RTL CYCLES_TOTAL" and e["area_scaled"]
    cal = example_inputs(jobs[lapa["cycles"]].params)          # the point's layer, as build.py run sees it
    g = run_layer(cal.x, cal.wq, cal.wk, cal.wv, cal.arith)
    assert e["work"]["nnz"] == int(g["mask"].sum()) and e["work"]["key_needed"] == int(g["key_needed"].sum())
    assert e["work"]["scored_pairs"] == int(g["round_candidates"].sum())
    j = jobs[lapa["energy"]]
    table = _table(j.params["energy_table"])
    hw = HardwareConfig(**table["config"]["hw"])            # the tiny shape is the table's own
    scale = _area_scale(table, s)
    assert e["area_scale"] == scale and set(scale) == {"speculation", "execution"}
    ref = layer_energy(table, e["work"], hw, scale, target_srams(table, hw)[0], cycles=c["cycles"])
    assert e["energy_pj"] == pytest.approx(ref["total_pj"], rel=1e-12)
    d = records[dense["energy"]]["result"]
    assert not d["cycles_measured"] and d["split_pj"]["speculation"] == 0.0
    assert records[dense["energy"]]["deps"] == {"synth": dense["synth"]}


def test_report_only_runs_no_job(tmp_path):
    """--report-only writes the report of what is stored and starts no cluster: after one job's
    record is removed, that job is 'not run' and the rest are reported from the store."""
    text = _write(tmp_path, _tiny(16))
    out = tmp_path / "out"
    assert main(["sweep", text, "--out", str(out), "--workers", "1", "--dashboard", ":0", "--quiet"]) == 0
    first = json.loads((out / "report.json").read_text())
    lost = first["points"][0]["tasks"]["work"]["key"]
    os.unlink(out / "points" / f"{lost}.json")
    assert main(["sweep", text, "--out", str(out), "--report-only", "--quiet"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["meta"]["ran"] == 0 and rep["meta"]["not_run"] == 1 and rep["meta"]["dashboard"] is None
    assert rep["counts"]["work"] == {"jobs": 6, "ok": 5, "failed": 0, "not run": 1, "skip": 0}
    assert not (out / "points" / f"{lost}.json").exists()
    assert "1 not run yet" in (out / "report.md").read_text()


def test_dense_shares_one_cycles_job_that_its_energy_reads(tmp_path):
    """dense reads no DDF setting: at every setting its points share one cycles job (model
    backend) and one energy job, and that energy job depends on that cycles job (before the fix
    only the setting equal to the default found it, the others fell back to ideal x 1.21)."""
    text = _tiny(16, ("cycles", "energy")).replace('"sanger", "topk"', '"dense"') \
        .replace("d_model = 32", "d_model = 32\nmax_seq_len = 16\nbackend = \"model\"")
    sweep = load_sweep(_write(tmp_path, text))
    pts, jobs, cells = plan(sweep, {t: "v" for t in sweep.tasks})
    for lanes in (2, 4):
        dense = [c for p, c in zip(pts, cells) if p["predictor"] == "dense" and p["pea_lanes"] == lanes]
        assert len(dense) == 2 and len({c["cycles"] for c in dense}) == 1 and len({c["energy"] for c in dense}) == 1
        assert jobs[dense[0]["energy"]].deps.get("cycles") == dense[0]["cycles"]
        lapa = [c for p, c in zip(pts, cells) if p["predictor"] == "lapa" and p["pea_lanes"] == lanes]
        assert len({c["cycles"] for c in lapa}) == 2     # lapa's settings stay apart
        assert all(jobs[c["energy"]].deps.get("cycles") == c["cycles"] for c in lapa)


def test_front_table_merges_points_with_the_same_figures():
    from dse.report import _same_figures

    pts = [{"label": "a", "x": 1.0, "y": 2.0}, {"label": "b", "x": 1.0, "y": 2.0}, {"label": "c", "x": 1.0, "y": 3.0},
           {"label": "d", "x": 1.0, "y": 2.0}]
    rows = _same_figures(pts, (("x", ".1f"), ("y", ".1f")))
    assert rows == [("a (+2 more with the same figures)", "1.0", "2.0"), ("c", "1.0", "3.0")]
