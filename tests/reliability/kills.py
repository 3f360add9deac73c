"""What was in flight at each kill of the crash suite (crash.py, crash_cutover.py), and a
journal reader for the targeted kills that watch the journal as a process runs."""
from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Mapping

import common as c


class Kills:
    """What was in flight at each kill, per phase."""

    def __init__(self) -> None:
        self.count = 0
        self.by_kind: collections.Counter[str] = collections.Counter()
        self.nothing_in_flight = 0
        self.in_flight_sizes: list[int] = []
        self.moments: list[dict] = []
        self.torn = 0

    def record(self, plan: Path, run: c.ApplyRun, kinds: Mapping[str, str], where: dict) -> None:
        """A kill that hit a running process: what the journal shows in flight (the records
        that process appended: a `started` with no end record); `kinds` maps an address to
        its kind."""
        self.count += 1
        records, _, torn = c.read_journal(plan)
        self.torn += int(torn)
        flying = c.in_flight(records[run.journal_before:])
        flying_kinds = sorted({kinds.get(a, "?") for a in flying})
        self.in_flight_sizes.append(len(flying))
        if not flying:
            self.nothing_in_flight += 1
        self.by_kind.update(flying_kinds)
        self.moments.append(where | {"after_s": round(run.seconds, 3), "in_flight": sorted(flying), "torn_tail": torn})
        target = f" (target {where['target']})" if where.get("target") else ""
        c.log(f"   kill {self.count}: {where.get('command') or where.get('ou')}{target} after {run.seconds:.2f} s, {len(flying)} steps in flight"
              + (f" ({', '.join(flying_kinds)})" if flying else ""))

    def figures(self) -> dict:
        return {
            "kills": self.count,
            "in_flight_by_kind": dict(sorted(self.by_kind.items())),
            "kills_with_no_step_in_flight": self.nothing_in_flight,
            "steps_in_flight_per_kill": dict(sorted(collections.Counter(self.in_flight_sizes).items())),
            "torn_journal_tails_seen": self.torn,
            "moments": self.moments,
        }


class JournalTail:
    """The records appended to a plan's journal since this reader was made, read incrementally
    (the targeted kills poll every 2 ms: reading the whole journal each time would cost more
    than the actions being watched)."""

    def __init__(self, plan: Path):
        self.path = c.journal_path(plan)
        self.pos = self.path.stat().st_size if self.path.exists() else 0
        self.buf = b""

    def new(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
        return out
