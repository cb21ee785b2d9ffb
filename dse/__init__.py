"""Design-space sweeps on Dask (`build.py sweep SWEEP.toml`, issue 18).

A sweep file names axes (lists of values) and fixed values of the parameters in `dse.params`,
named DDF settings and the tasks to run at every point. Modules, one concern each:
`params` (the parameters a sweep may set, their types and defaults), `spec` (reading and
validating SWEEP.toml), `points` (the cross product, labels, each task's share of a point and its
content hash), `codeversion` (hash of the sources a task depends on), `tasks` (the registry:
synth, work, cycles, eval, energy), `store` (one JSON file per result, written atomically),
`runner` (dask.distributed: a LocalCluster or a scheduler address), `pareto`, `plots` and
`report` (results.jsonl, report.md, report.json, Pareto plots).
"""
