"""join_trials: a side's rounds, each a sealed run of one trial, become one run folder
whose trials they are, cell folders moved (not copied), the worst status kept."""

from __future__ import annotations

import json

from scripts.archive.folder import load_run
from scripts.archive.merge import join_trials

from ..runfactory import Spec, make_run

SPEC = Spec(servers=("uvicorn",), scenarios={"orders": ("sync", "async")})


def test_rounds_become_trials(tmp_path):
    rounds = [make_run(tmp_path / "rounds", f"base-r{r}", SPEC, seed=r) for r in (1, 2, 3)]
    (rounds[1] / "cells" / "uvicorn" / "orders-sync-u10-t1" / "latency.json").write_text("{}")
    manifest = json.loads((rounds[2] / "manifest.json").read_text())
    (rounds[2] / "manifest.json").write_text(json.dumps({**manifest, "status": "partial"}))
    seen = []
    into = join_trials(rounds, tmp_path / "base", {"ab": {"side": "base"}},
                       outputs=lambda folder: seen.append(folder))
    run = load_run(into)
    assert sorted((c.flavor, c.trial) for c in run.cells) == [
        ("async", 1), ("async", 2), ("async", 3), ("sync", 1), ("sync", 2), ("sync", 3)]
    assert all(c.path.endswith(f"-t{c.trial}") and (into / c.path).is_dir() for c in run.cells)
    assert (into / "cells/uvicorn/orders-sync-u10-t2/latency.json").is_file()  # moved
    assert run.status == "partial"  # the worst round's
    assert run.manifest["ab"] == {"side": "base"}
    assert [r["run"] for r in run.manifest["rounds"]] == ["base-r1", "base-r2", "base-r3"]
    assert run.manifest["profile"]["trials"] == 3 and run.manifest["cells_done"] == 6
    assert seen == [into]
    assert not any(r.exists() for r in rounds)  # emptied rounds are removed
