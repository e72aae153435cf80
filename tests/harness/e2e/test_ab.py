"""`loadlab ab` for real: a team's project (tests/shop, committed in a fresh git repo), a
branch whose sync view sleeps 20 ms more, and a branch identical to main. Real
worktrees, real servers, real Locust; the worktrees gone afterwards.

Rounds and power: each side's cell is one user for two seconds on the sync view, so its
p50 is the median of ~2000 requests (~0.7 ms here) and its rps 1 / latency. A 20 ms
sleep moves p50 about x30 in every round, while an unchanged view's per-round log ratio
spread ~5 % (rps, p50) to ~11 % (p95) in this test's A/A rounds. With 3 rounds the
paired t has 2 degrees of freedom (|t| > 4.30 for p < 0.05): a shift of log(30) = 3.4
with a spread of ~0.1 gives t ~ 60, so the slow branch is called with power ~1; an
identical branch is called slower on a metric only when p < 0.05 in the slower
direction (2.5 %) *and* the mean beyond the floor (5-10 %; the mean's spread over 3
rounds is ~3-6 %): about 1 % a metric, 3 % a run, too often for CI. So the identical
branch is held to the gate a team would set (`--fail-on-regression 25`): beyond 25 %
is > 4 standard deviations of the mean's spread, never by chance, while the slow
branch's x30 passes any gate. More rounds would add a minute, not meaning. The slow
branch's cells measure one second, not two: ~1000 requests on main and ~45 on the
slow side still put p50 and p95 where they are, and x30 a round leaves t in the tens;
the identical branch keeps two seconds, its spread being what the gate is set against.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.archive.folder import load_run

from ..conftest import commit_shop, copy_shop, loadlab, read_json, shop_toml

# alone: whether an identical branch is called is the noise of an idle machine.
pytestmark = pytest.mark.alone

ROUNDS = "3"
CELL = ("--servers", "gunicorn-gthread", "--flavors", "sync", "--users", "1",
        "--warmup", "0.3", "--rounds", ROUNDS)


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C",
                           str(folder), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(folder: Path) -> Path:
    """tests/shop committed on main (its database made by each tree's `prepare`), a
    branch `slow` whose sync view sleeps 20 ms, and a branch `same` that changes no
    code; main checked out."""
    commit_shop(copy_shop(folder, shop_toml()))
    git(folder, "checkout", "-qb", "slow")
    views = folder / "orders" / "views.py"
    text = views.read_text()
    views.write_text(text.replace("def order_list(request):\n",
                                  "def order_list(request):\n    time.sleep(0.02)\n")
                     .replace("from django.http", "import time\n\nfrom django.http"))
    git(folder, "commit", "-qam", "slow orders")
    git(folder, "checkout", "-q", "main")
    git(folder, "checkout", "-qb", "same")
    (folder / "NOTES.md").write_text("no code changed\n")
    git(folder, "add", "NOTES.md")
    git(folder, "commit", "-qm", "notes only")
    git(folder, "checkout", "-q", "main")
    return folder


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("team") / "shop")


def ab_folder(results: Path) -> Path:
    found = [p for p in results.iterdir() if (p / "ab.json").is_file()]
    assert len(found) == 1, [p.name for p in results.iterdir()]
    return found[0]


def metric(data: dict, flavor: str, name: str) -> dict:
    row = next(r for r in data["rows"] if r["flavor"] == flavor)
    return row["metrics"][name]


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list").splitlines() if line]


def test_a_branch_with_a_slower_view_is_called_slower_and_exits_3(repo, tmp_path):
    results = tmp_path / "results"
    done = loadlab("ab", "--project", str(repo), "--base", "main", "--head", "slow",
                   *CELL, "--duration", "1", "--results", str(results), timeout=300)
    assert done.code == 3, done.err[-3000:] + done.out
    folder = ab_folder(results)
    data = read_json(folder / "ab.json")
    print(folder / "ab.md", (folder / "ab.md").read_text(), sep="\n")  # the numbers
    assert data["base"]["ref"] == "main" and data["head"]["ref"] == "slow"
    assert data["head"]["commit"] == git(repo, "rev-parse", "slow")
    for name in ("p50", "p95", "rps"):
        slowed = metric(data, "sync", name)
        assert slowed["slower"] and slowed["significant"], (name, slowed)
        assert len(slowed["round_delta_pct"]) == int(ROUNDS)
    assert metric(data, "sync", "p50")["delta_pct"] > 100  # 20 ms on a few-ms view
    assert "REGRESSION gunicorn-gthread orders/sync" in done.err
    # both sides are run folders with a trial per round, and compare opens the folder
    for side in ("base", "head"):
        run = load_run(folder / side)
        assert run.status == "complete"
        assert sorted({c.trial for c in run.cells}) == [1, 2, 3]
    seen = loadlab("compare", str(folder), "--format", "json")
    assert seen.code == 0, seen.err
    assert "orders" in seen.out and "base" in seen.out and "head" in seen.out
    assert len(worktrees(repo)) == 1  # only the repository's own: the scratch ones removed


def test_an_identical_branch_is_not_called_and_exits_0(repo, tmp_path):
    results = tmp_path / "results"
    done = loadlab("ab", "--project", str(repo), "--base", "main", "--head", "same",
                   *CELL, "--duration", "2", "--fail-on-regression", "25",
                   "--results", str(results), timeout=300)
    data = read_json(ab_folder(results) / "ab.json")
    print((ab_folder(results) / "ab.md").read_text())
    assert done.code == 0, done.err[-3000:] + done.out
    for name in ("rps", "p50", "p95"):
        found = metric(data, "sync", name)
        assert not (found["slower"] and abs(found["delta_pct"]) > 25), (name, found)
    assert len(worktrees(repo)) == 1


def one_line(done) -> str:
    assert done.code == 2, f"exit {done.code}: {done.err}{done.out}"
    assert "Traceback" not in done.err + done.out
    lines = done.err.strip().splitlines()
    assert len(lines) == 1, done.err
    return lines[0]


def test_a_ref_that_does_not_exist_is_one_line(repo, tmp_path):
    line = one_line(loadlab("ab", "--project", str(repo), "--base", "nope",
                            "--results", str(tmp_path)))
    assert "'nope'" in line and "no commit" in line
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_project_outside_git_is_one_line(tmp_path):
    copy_shop(tmp_path / "shop", shop_toml())
    line = one_line(loadlab("ab", "--project", str(tmp_path / "shop"),
                            "--results", str(tmp_path / "results")))
    assert "not in a git repository" in line


def test_a_dirty_tree_where_a_commit_is_asked_for_is_one_line(tmp_path):
    """--head naming the checked-out commit while the tree has uncommitted changes would
    not measure them: refused. Without --head the dirty tree is what head measures."""
    repo = make_repo(tmp_path / "shop")
    (repo / "orders" / "views.py").write_text("# changed\n" + (repo / "orders" /
                                                               "views.py").read_text())
    line = one_line(loadlab("ab", "--project", str(repo), "--head", "main",
                            "--results", str(tmp_path / "results")))
    assert "uncommitted changes" in line and "--head main" in line


def test_fewer_than_two_rounds_is_one_line(repo, tmp_path):
    line = one_line(loadlab("ab", "--project", str(repo), "--rounds", "1",
                            "--results", str(tmp_path)))
    assert "--rounds" in line
