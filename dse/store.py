"""The result store: one JSON file per job, `OUT/points/KEY.json`, written atomically (a crash
leaves a finished file or none), so a rerun reads what is done and runs the rest.

A record: key, task, params, code (version), status ('ok' or 'failed'), result or error,
worker, host, seconds, finished (UTC)."""

from __future__ import annotations

import json
import os

from lapa.report import write_json

__all__ = ["Store"]


class Store:
    def __init__(self, out_dir):
        self.dir = os.path.join(out_dir, "points")

    def path(self, key):
        return os.path.join(self.dir, f"{key}.json")

    def load(self, key):
        """The stored record of `key`, or None (a file that is not a record of it counts as none)."""
        try:
            with open(self.path(key)) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            return None
        return rec if isinstance(rec, dict) and rec.get("key") == key else None

    def done(self, key):
        rec = self.load(key)
        return rec is not None and rec.get("status") == "ok"

    def save(self, record):
        write_json(self.path(record["key"]), record)

    def keys(self):
        try:
            return sorted(f[:-5] for f in os.listdir(self.dir) if f.endswith(".json"))
        except FileNotFoundError:
            return []
