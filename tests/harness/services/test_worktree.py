"""A project's repository and its worktrees, on a real git repository in tmp: refs
checked, worktrees made and removed with nothing left behind, and every bad input one
UsageError (exit 2)."""

from __future__ import annotations

import subprocess

import pytest

from scripts.errors import UsageError
from scripts.services.worktree import Repository, Worktrees


def git(folder, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C",
                           str(folder), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    top = tmp_path / "shop"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "loadlab.toml").write_text("# a project\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "one")
    return top


def test_the_repository_of_a_subfolder_and_its_refs(repo):
    found = Repository.of(repo / "sub")
    assert found.top == repo.resolve()
    assert found.commit("main") == git(repo, "rev-parse", "HEAD") == found.head()
    assert found.tracked(found.commit("main"), repo / "sub" / "loadlab.toml")
    assert not found.tracked(found.commit("main"), repo / "sub" / "other.toml")
    assert not found.dirty()
    (repo / "sub" / "loadlab.toml").write_text("# changed\n")
    assert found.dirty()


def test_bad_input_is_a_usage_error(repo, tmp_path):
    with pytest.raises(UsageError, match="not in a git repository"):
        Repository.of(tmp_path)
    with pytest.raises(UsageError, match="no commit 'nope'"):
        Repository.of(repo).commit("nope")


def test_a_worktree_keeps_the_folder_name_and_is_removed(repo):
    found = Repository.of(repo)
    with Worktrees(found) as trees:
        tree = trees.add("base", found.commit("main"))
        assert tree.name == "shop" and (tree / "sub" / "loadlab.toml").is_file()
        assert len(git(repo, "worktree", "list").splitlines()) == 2
        scratch = trees.scratch
    assert not scratch.exists()
    assert len(git(repo, "worktree", "list").splitlines()) == 1
