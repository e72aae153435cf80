"""`loadlab ab` for real: a team's project (tests/shop, committed in a fresh git repo), a
branch whose sync view sleeps 20 ms more, and a branch identical to main. Real
worktrees, real servers, real Locust; the worktrees gone afterwards.

Rounds and power: each side's cell is one user for one second on the sync view, so its
p50 is the median of ~1000-1400 requests (~0.7 ms here) and its rps 1 / latency. A 20 ms
sleep moves p50 about x30 in every round (the slow side's ~45 requests still put its p50
and p95 at ~21 ms), while an unchanged view's per-round log ratio spread ~5 % (rps, p50)
and ~9 % (p95) over 12 A/A rounds of 1 s cells (four ab runs; the largest single round
18 %), no more than the 5 % and 11 % that 2 s cells gave: the spread is the machine's
from round to round, not the sample size. With 3 rounds the paired t has 2 degrees of
freedom (|t| > 4.30 for p < 0.05): a shift of log(30) = 3.4 with a spread of ~0.1 gives
t ~ 60, so the slow branch is called with power ~1; an identical branch is called
slower on a metric only when p < 0.05 in the slower direction (2.5 %) *and* the mean
beyond the floor (5-10 %; the mean's spread over 3 rounds is ~3-5 %): about 1 % a
metric, 3 % a run, too often for CI. So the identical branch is held to the gate a
team would set (`--fail-on-regression 25`): log(1.25) = 0.22 is > 4 standard deviations
of the mean's spread (p95: 0.09 / sqrt(3) = 0.05), never by chance, while the slow
branch's x30 passes any gate. Three rounds, not the CLI's minimum of two: a round where
either side was `stolen` pairs nothing, and with two rounds one such round would leave
nothing called (and a paired t with 1 degree of freedom needs |t| > 12.7, so the
identical run could no longer catch a consistent asymmetry of 30 % between the sides).
More rounds would add ~7 s each, not meaning.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.archive.folder import load_run

from ..conftest import commit_shop, copy_shop, loadlab, read_json, shop_toml

# alone (the two measured tests): whether an identical branch is called is the noise of
# an idle machine; the one-line refusals run with the rest.
ALONE = pytest.mark.alone

ROUNDS = "3"
CELL = ("--servers", "gunicorn-gthread", "--flavors", "sync", "--users", "1",
        "--warmup", "0.3", "--rounds", ROUNDS, "--duration", "1")


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


@ALONE
def test_a_branch_with_a_slower_view_is_called_slower_and_exits_3(repo, tmp_path):
    results = tmp_path / "results"
    done = loadlab("ab", "--project", str(repo), "--base", "main", "--head", "slow",
                   *CELL, "--results", str(results), timeout=300)
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


@ALONE
def test_an_identical_branch_is_not_called_and_exits_0(repo, tmp_path):
    results = tmp_path / "results"
    done = loadlab("ab", "--project", str(repo), "--base", "main", "--head", "same",
                   *CELL, "--fail-on-regression", "25",
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
