"""A real smoke bench (one server, one cell) held to a matrix's [scenarios.hello.thresholds]:
an impossible p95 exits 3 and names the cell, after the run was sealed complete; a
generous one exits 0. Two runs of one cell each, a few seconds apiece."""

from __future__ import annotations

from pathlib import Path

from ..conftest import loadlab, matrix_with, read_json

ONE_CELL = ("--profile", "smoke", "--servers", "uvicorn", "--scenarios", "hello",
            "--flavors", "sync", "--users", "1", "--duration", "2", "--warmup", "0.5",
            "--quiet")


def bench(tmp_path: Path, name: str, thresholds: str) -> tuple:
    folder = tmp_path / name
    folder.mkdir()
    matrix = matrix_with(folder, append=f"[scenarios.hello.thresholds]\n{thresholds}\n")
    results = folder / "results"
    done = loadlab("bench", "--matrix", str(matrix), "--results", str(results), *ONE_CELL,
                   timeout=120)
    (run,) = [p for p in results.iterdir() if p.is_dir()]
    return done, run


def test_an_impossible_p95_exits_3_after_the_seal_and_a_generous_one_0(tmp_path: Path):
    done, run = bench(tmp_path, "tight", "p95_ms = 0.001")
    assert done.code == 3, done.err + done.out
    assert "Traceback" not in done.err
    assert "loadlab bench: 1 of 1 threshold check(s) failed" in done.err
    line = next(x for x in done.err.splitlines() if "THRESHOLD" in x)
    assert line.strip().startswith("THRESHOLD uvicorn hello/sync u1: p95 ")
    assert line.endswith(" ms > 0.001 ms")
    # nothing lost: the folder is sealed complete, and keeps the check it failed
    assert read_json(run / "manifest.json")["status"] == "complete"
    (check,) = read_json(run / "summary.json")["thresholds"]["checks"]
    assert (check["threshold"], check["ok"], check["limit"]) == ("p95_ms", False, 0.001)
    assert check["measured"] > 0.001
    assert "## Thresholds" in (run / "summary.md").read_text()

    done, loose = bench(tmp_path, "loose", "p95_ms = 60000\nfailure_ratio = 0.5")
    assert done.code == 0, done.err + done.out
    assert "loadlab bench: all 2 threshold check(s) held" in done.err
    assert "THRESHOLD" not in done.err
    judged = read_json(loose / "summary.json")["thresholds"]
    assert judged["set"] == {"hello": {"p95_ms": 60000.0, "failure_ratio": 0.5}}
    assert all(c["ok"] for c in judged["checks"])
