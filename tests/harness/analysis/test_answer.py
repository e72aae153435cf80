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


def test_a_profiled_answer_names_the_best_s_layer_and_what_sinks_the_runner_up(
        tmp_path: Path) -> None:
    """--why: the answer says where the best's CPU goes and where the runner-up spends
    more per request; unprofiled cells say nothing of the kind."""
    spec = Spec(scenarios={"cpu": ("sync", "async")}, servers=("gunicorn-sync",),
                shift=lambda k: 1.0 if k[2] == "sync" else 0.6)
    cells = load_run(make_run(tmp_path, "r", spec, seed=6)).cells
    assert answers(cells)[0].why == ""
    for cell in cells:
        cell.layers = ({"view code": 1671.0, "server": 200.0} if cell.flavor == "sync" else
                       {"view code": 1700.0, "server": 210.0, "thread hops": 1011.0})
    (cpu,) = answers(cells)
    assert cpu.best.flavor == "sync"
    assert cpu.why == ("the best spends most in view code (1,671 us/request);"
                       " the runner-up +1,011 us/request in thread hops")
    assert lines([cpu])[1].endswith("; why: " + cpu.why)
