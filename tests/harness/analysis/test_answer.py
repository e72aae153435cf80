"""The answer first: per scenario, the best configuration and its runner-up."""

from __future__ import annotations

from pathlib import Path

from scripts.analysis.answer import answers
from scripts.archive.folder import load_run
from scripts.render.answer import lines
from tests.harness.runfactory import Spec, make_run

SCENARIOS = {"hello": ("sync", "async"), "weather": ("sync", "async")}


def test_the_best_is_named_with_its_lead_and_whether_it_is_real(tmp_path: Path) -> None:
    faster = Spec(scenarios=SCENARIOS, shift=lambda k: 1.4 if k[:3] == ("uvicorn", "weather",
                                                                          "async") else 1.0,
                  warnings=lambda k: ["load-bound"] if k[0] == "uvicorn" else [])
    found = answers(load_run(make_run(tmp_path, "r", faster, seed=4)).cells)
    assert [a.scenario for a in found] == ["weather", "hello"]  # the literature's order
    weather, hello = found
    assert (weather.best.server, weather.best.flavor) == ("uvicorn", "async")
    assert weather.significant and weather.delta_pct is not None and weather.delta_pct > 25
    assert weather.flags == ("load-bound",) and weather.configurations == 4
    assert not hello.significant  # four configurations drawn from one distribution
    text = lines(found)
    assert text[0].startswith("answer:")
    assert text[1].strip().startswith("weather: uvicorn async")
    assert "(significant)" in text[1] and "best is load-bound" in text[1]
    assert "~ not significant" in text[2]


def test_open_model_cells_and_failed_ones_are_not_ranked(tmp_path: Path) -> None:
    spec = Spec(scenarios={"hello": ("sync", "async")},
                failed=lambda k: k[0] == "uvicorn" and k[2] == "async")
    cells = load_run(make_run(tmp_path, "r", spec, seed=5)).cells
    (hello,) = answers(cells)
    assert (hello.best.server, hello.best.flavor) != ("uvicorn", "async")
    assert hello.configurations == 3
    for cell in cells:
        cell.rate = 40.0
    assert answers(cells) == []
