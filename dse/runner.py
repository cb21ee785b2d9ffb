"""Running a sweep's jobs on dask.distributed: a LocalCluster (`workers` processes of one thread,
each offering one unit of the `heavy` resource) or the scheduler at `scheduler`.

Each job is submitted once, as `execute(task, params, code)`; the worker checks that its own
sources give the job's code version, runs the task and returns a record; the client writes the
record to the store as it arrives (so a crash of the client or a worker loses no finished job,
and a job is stored once whichever worker ran it). A worker that dies takes its running job with
it; the scheduler runs that job again on another worker (up to Dask's allowed failures, then the
job is recorded as failed with `KilledWorker`). A task that raises is recorded as failed with its
error and the sweep goes on. A job that reads other jobs' records (`Job.deps`: energy reads the
point's cycles and synth) is submitted with their futures, or their stored records when they were
kept from an earlier run; Dask runs it once they are done, and it is recorded as failed, naming
the dependency, when one failed.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import sys
import time
import traceback

from lapa.errors import UserError

from .codeversion import code_version
from .tasks import HEAVY, TASKS

__all__ = ["execute", "run_jobs", "run_sweep", "open_client", "Progress"]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _one_line(text, limit=500):
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _record(job_task, params, code, status, **extra):
    return {"task": job_task, "params": params, "code": code, "status": status,
            "host": socket.gethostname(), "finished": _now(), **extra}


def execute(task_name, params, code, key, deps=None):
    """Run one job on this worker; always returns a record (a failure is a record too).
    `deps`: {task: record} of the jobs it reads (Dask has resolved their futures)."""
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    t0 = time.perf_counter()
    task = TASKS[task_name]
    mine = code_version(task.sources)
    if mine != code:
        return _record(task_name, params, code, "failed", key=key, worker=worker, seconds=0.0,
                       error=f"worker {worker} on {socket.gethostname()} has other {task_name} sources "
                             f"({mine}, the sweep's are {code}): update its checkout")
    try:
        result = task.function()(params, deps) if task.deps else task.function()(params)
    except Exception as exc:   # the sweep goes on; the record says what went wrong
        return _record(task_name, params, code, "failed", key=key, worker=worker,
                       seconds=round(time.perf_counter() - t0, 2),
                       error=_one_line(f"{type(exc).__name__}: {exc}"),
                       traceback=traceback.format_exc(limit=8)[-4000:])
    return _record(task_name, params, code, "ok", key=key, worker=worker,
                   seconds=round(time.perf_counter() - t0, 2), result=result,
                   **({"deps": {t: r.get("key") for t, r in deps.items()}} if deps else {}))


class Progress:
    """'[sweep  12 s] 5/24 done, 1 failed (3 kept) | work pea_lanes=4 ...: ok 1.2 s' on stderr."""

    def __init__(self, total, kept, stream=None, quiet=False):
        self.total, self.kept, self.done, self.failed = total, kept, kept, 0
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.t0 = time.monotonic()

    def say(self, text):
        if not self.quiet:
            print(f"[sweep {time.monotonic() - self.t0:5.0f} s] {text}", file=self.stream, flush=True)

    def step(self, job, rec):
        self.done += 1
        self.failed += rec["status"] != "ok"
        what = f"ok {rec.get('seconds', 0):.1f} s" if rec["status"] == "ok" else f"FAILED: {rec['error']}"
        self.say(f"{self.done}/{self.total} done, {self.failed} failed ({self.kept} kept) | "
                 f"{job.task} {job.label}: {_one_line(what, 200)}")


@contextlib.contextmanager
def open_client(workers=None, scheduler=None, dashboard=":8787"):
    """A distributed Client on a new LocalCluster, or connected to `scheduler`."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"--scheduler = {scheduler}: cannot connect ({_one_line(exc, 200)})") from None
        with client:
            yield client
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           resources={HEAVY: 1}, dashboard_address=dashboard)
    with cluster, Client(cluster) as client:
        yield client


def _check_heavy(client, jobs):
    heavy = sorted({j.task for j in jobs if TASKS[j.task].heavy})
    if not heavy:
        return
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if not any(w.get("resources", {}).get(HEAVY, 0) >= 1 for w in workers.values()):
        raise UserError(f"no worker offers the '{HEAVY}' resource the {', '.join(heavy)} jobs need: "
                        f"start workers with `dask worker ADDRESS --resources {HEAVY}=1`")


def run_jobs(client, jobs, store, progress, kept=None):
    """Submit every job (each after the jobs it reads), store each record as it arrives; returns
    the records by key. `kept` {key: record} of finished jobs a job may read."""
    from distributed import as_completed

    futures, by_key = {}, {}
    todo = {j.key: j for j in jobs}
    while todo:
        ready = [j for j in todo.values() if all(k not in todo for k in j.deps.values())]
        if not ready:
            raise RuntimeError("jobs that read each other: " + ", ".join(todo))
        for j in ready:
            del todo[j.key]
            deps = {t: by_key[k] if k in by_key else (kept or {}).get(k) for t, k in j.deps.items()}
            resources = {HEAVY: 1} if TASKS[j.task].heavy else None
            fut = client.submit(execute, j.task, j.params, j.code, j.key, deps or None,
                                key=f"{j.task}-{j.key}", resources=resources, pure=False)
            futures[fut] = j
            by_key[j.key] = fut
    # a finished future is released (the scheduler forgets its result) once no job waits for it
    readers = {k: 0 for k in by_key}
    for j in futures.values():
        for k in j.deps.values():
            if k in readers:
                readers[k] += 1
    records, finished = {}, set()

    def release(key):
        if key in finished and readers[key] == 0:
            by_key.pop(key).release()

    for fut in as_completed(futures):
        j = futures.pop(fut)
        try:
            rec = fut.result()
        except Exception as exc:   # KilledWorker, a worker that cannot unpickle the job, ...
            rec = _record(j.task, j.params, j.code, "failed", key=j.key, worker=None, seconds=None,
                          error=_one_line(f"{type(exc).__name__}: {exc}"))
        finished.add(j.key)
        release(j.key)
        for k in j.deps.values():
            if k in readers:
                readers[k] -= 1
                release(k)
        store.save(rec)
        records[j.key] = rec
        progress.step(j, rec)
    return records


def run_sweep(sweep, out_dir, workers=2, scheduler=None, dashboard=":8787", quiet=False, run=True):
    """Plan the sweep, run the jobs not yet in `out_dir`'s store (none with `run` False: the
    report of what is stored, e.g. while a sweep is running or after it was stopped), and return
    (points, jobs, cells, records by key, meta) for the report."""
    from .codeversion import git_describe
    from .points import plan
    from .store import Store

    t0 = time.monotonic()
    codes = {t: code_version(TASKS[t].sources) for t in sweep.tasks if TASKS[t].available}
    pts, jobs, cells = plan(sweep, codes)
    store = Store(out_dir)
    records = {k: store.load(k) for k in jobs}
    todo = [j for k, j in jobs.items() if not (records[k] and records[k]["status"] == "ok")]
    kept = len(jobs) - len(todo)
    progress = Progress(len(jobs), kept, quiet=quiet)
    progress.say(f"{sweep.name}: {len(pts)} points, {len(jobs)} jobs ("
                 + ", ".join(f"{t} {sum(j.task == t for j in jobs.values())}" for t in sweep.tasks
                             if TASKS[t].available)
                 + f"); {kept} kept from {store.dir}, {len(todo)} to run")
    if not run:
        records = {k: r for k, r in records.items() if r}
        todo = []
    meta = {"workers": workers if not scheduler else None, "scheduler": scheduler, "dashboard": None,
            "code_versions": codes, "git": git_describe(), "kept": kept, "ran": len(todo),
            "not_run": len(jobs) - len(records) if not run else 0}
    if todo:
        with open_client(workers, scheduler, dashboard) as client:
            if scheduler:
                _wait_for_workers(client, scheduler)
            _check_heavy(client, todo)
            meta["dashboard"] = client.dashboard_link
            n = len(client.scheduler_info(n_workers=-1)["workers"])
            progress.say(f"{'scheduler ' + scheduler if scheduler else 'local cluster'}: {n} worker(s); "
                         f"dashboard {meta['dashboard']}")
            records.update(run_jobs(client, todo, store, progress, kept=records))
    meta["wall_s"] = round(time.monotonic() - t0, 1)
    meta["failed"] = sum(1 for r in records.values() if r and r["status"] != "ok")
    ok = sum(1 for r in records.values() if r and r["status"] == "ok")
    progress.say(f"finished in {meta['wall_s']:.0f} s: {ok}/{len(jobs)} jobs ok, {meta['failed']} failed"
                 + (f", {meta['not_run']} not run (--report-only)" if not run else ""))
    return pts, jobs, cells, records, meta


def _wait_for_workers(client, scheduler, timeout=60):
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise UserError(f"--scheduler = {scheduler}: no worker joined within {timeout} s "
                        f"(start one with `dask worker {scheduler} --resources {HEAVY}=1`)") from None
