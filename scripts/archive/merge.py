"""Several sealed runs of one plan, one trial each, joined into one run folder whose
trials they become.

`loadlab ab` runs each side's plan once per round, alternating sides, so that drift on
the machine falls on both; each round is a whole `bench` run of its own (fresh servers,
the project's `prepare`, a sealed folder). Joined, a side's rounds are a normal run
with one trial per round: `compare` reads it as any other, and its trial-level test
sees the rounds as the units they are.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .folder import load_run, write_json, write_summary
from .records import CellRecord
from .writer import Outputs

# The worse status wins: a side is complete only if every round was.
_RANK = {"complete": 0, "partial": 1, "failed": 2, "abandoned": 2, "interrupted": 3}


def join_trials(runs: list[Path], into: Path, extra: dict[str, Any],
                outputs: Outputs | None = None) -> Path:
    """Move the cells of `runs` (round 1 first) into the new folder `into` as trials
    1..N, write its manifest (the first round's, with every round's span, status and
    counts, and `extra` under its own keys), summary.json and `outputs`; then remove
    the emptied round folders. Returns `into`."""
    into.mkdir(parents=True)
    records: list[CellRecord] = []
    rounds = []
    for trial, path in enumerate(runs, 1):
        run = load_run(path)
        for record in run.cells:
            moved = CellRecord.from_dict({**record.to_dict(), "trial": trial,
                                          "path": record.key.path(trial)})
            if record.path and (path / record.path).is_dir():
                (into / moved.path).parent.mkdir(parents=True, exist_ok=True)
                (path / record.path).rename(into / moved.path)
            records.append(moved)
        _share_assets(path, into)
        rounds.append({"trial": trial, "run": run.name, "status": run.status,
                       "started": run.manifest.get("started"),
                       "finished": run.manifest.get("finished"),
                       "error": run.manifest.get("error"),
                       "project_git": (run.manifest.get("project") or {}).get("git")})
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    manifest.update(
        status=max((r["status"] for r in rounds), key=lambda s: _RANK.get(s, 2)),
        started=rounds[0]["started"], finished=rounds[-1]["finished"],
        error="; ".join(f"round {r['trial']}: {r['error']}" for r in rounds if r["error"])
        or None,
        cells_done=len(records), cells_failed=sum(r.status != "ok" for r in records),
        rounds=rounds, **extra)
    if isinstance(manifest.get("profile"), dict):
        manifest["profile"]["trials"] = len(runs)
    if isinstance(manifest.get("plan"), dict) and isinstance(manifest["plan"].get("cells"),
                                                             list):
        one = manifest["plan"]["cells"]
        manifest["plan"]["cells"] = [
            {**c, "trial": t, "path": str(c.get("path", "")).rsplit("-t", 1)[0] + f"-t{t}"}
            for t in range(1, len(runs) + 1) for c in one]
    write_json(into / "manifest.json", manifest)
    write_summary(into, records)
    if outputs is not None:
        outputs(into)
    for path in runs:
        shutil.rmtree(path, ignore_errors=True)
    return into


def _share_assets(run: Path, into: Path) -> None:
    """The shared scripts the cells' pages load (assets/), once each."""
    assets = run / "assets"
    if not assets.is_dir():
        return
    for file in assets.iterdir():
        target = into / "assets" / file.name
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            shutil.copy2(file, target)
