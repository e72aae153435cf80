"""The USL fit recovers known sigma and kappa from synthetic sweeps, and refuses
sweeps that cannot carry it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scripts.analysis.usl import NotFittable, fit

LEVELS = (1, 2, 4, 8, 16, 32, 64, 128)


def sweep(lam: float, sigma: float, kappa: float, noise: float = 0.0, seed: int = 1):
    rng = np.random.default_rng(seed)
    return [(n, lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
             * (1 + rng.normal(0, noise))) for n in LEVELS]


@pytest.mark.parametrize("sigma,kappa", [(0.05, 0.0005), (0.2, 0.002), (0.02, 0.0001)])
def test_recovers_sigma_and_kappa_within_10_percent(sigma, kappa):
    f = fit(sweep(100.0, sigma, kappa, noise=0.01))
    assert f.sigma == pytest.approx(sigma, rel=0.10)
    assert f.kappa == pytest.approx(kappa, rel=0.10)
    assert f.lam == pytest.approx(100.0, rel=0.05)
    assert f.peak_users == pytest.approx(math.sqrt((1 - sigma) / kappa), rel=0.10)
    assert f.r2 > 0.99 and f.levels == len(LEVELS)


def test_peak_is_the_maximum_of_the_curve():
    f = fit(sweep(50.0, 0.1, 0.001))
    n_star = f.peak_users
    assert f.throughput(n_star) >= max(f.throughput(n) for n in (n_star * 0.8, n_star * 1.2))
    assert f.peak_rps == pytest.approx(f.throughput(n_star))


def test_refuses_short_sweeps_and_missing_n1():
    with pytest.raises(NotFittable, match=">= 6 user levels"):
        fit(sweep(10, 0.1, 0.01)[:5])
    with pytest.raises(NotFittable, match="N = 1"):
        fit([(n + 1, x) for n, x in sweep(10, 0.1, 0.01)])


def test_sweeps_and_the_summary_section():
    from scripts.archive.records import CellRecord
    from scripts.render.usl import markdown

    def cell(server: str, users: int, rps: float) -> CellRecord:
        return CellRecord(server=server, interface="wsgi", scenario="hello", flavor="sync",
                          client=None, users=users, trial=1, rps=rps)

    records = [cell("a", n, x) for n, x in sweep(100.0, 0.05, 0.0005)]
    records += [cell("b", n, 10.0 * n) for n in (10, 20)]  # two levels: refused
    records.append(cell("c", 5, 50.0))  # one level: not a sweep at all
    text = markdown(records)
    assert "a hello/sync: sigma 0.05" in text and "peak" in text
    assert "b hello/sync: not fitted" in text and ">= 6 user levels" in text
    assert "c hello/sync" not in text
    assert markdown([cell("c", 5, 50.0)]) == ""
