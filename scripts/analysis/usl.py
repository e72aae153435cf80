"""The Universal Scalability Law fitted to a closed-loop sweep (Gunther).

X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1)): sigma is contention (the
serial part), kappa coherency (the cost of keeping workers in step), lambda the
throughput of one user. With kappa > 0 throughput peaks at N* = sqrt((1 - sigma) /
kappa) and falls after it. Least squares (scipy); refused below MIN_LEVELS load levels
or without N = 1, where the fit would say more than the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_LEVELS = 6


class NotFittable(ValueError):
    """Too few or unsuitable points; the message says why."""


@dataclass(frozen=True)
class Fit:
    sigma: float
    kappa: float
    lam: float  # X(1)
    rmse: float  # root mean square error of the fit, requests/s
    r2: float
    levels: int

    def throughput(self, n: float) -> float:
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))

    @property
    def peak_users(self) -> float | None:
        """N*: where throughput peaks (None when kappa is 0: it only flattens)."""
        if self.kappa <= 0:
            return None
        return math.sqrt(max(0.0, 1 - self.sigma) / self.kappa)

    @property
    def peak_rps(self) -> float:
        """The predicted peak throughput (lambda / sigma as N grows when kappa is 0)."""
        n = self.peak_users
        if n is None:
            return self.lam / self.sigma if self.sigma > 0 else math.inf
        return self.throughput(n)

    def describe(self) -> dict[str, float | int | None]:
        return {"sigma": self.sigma, "kappa": self.kappa, "lambda": self.lam,
                "peak_users": self.peak_users, "peak_rps": self.peak_rps,
                "rmse_rps": self.rmse, "r2": self.r2, "levels": self.levels}


def fit(points: Sequence[tuple[float, float]]) -> Fit:
    """Fit (users, throughput) points; NotFittable says why a sweep cannot be fitted."""
    levels = sorted({n for n, _ in points})
    if len(levels) < MIN_LEVELS:
        raise NotFittable(f"the USL needs a closed sweep of >= {MIN_LEVELS} user levels"
                          f" (this has {len(levels)}): e.g. --users 1,2,4,8,16,32")
    if 1 not in levels:
        raise NotFittable("the USL needs N = 1 in the sweep (it anchors lambda)")
    from scipy.optimize import curve_fit  # deferred: scipy's import costs ~0.3 s

    n = [float(p[0]) for p in points]
    x = [float(p[1]) for p in points]
    one = [xi for ni, xi in zip(n, x, strict=True) if ni == 1]
    guess = (sum(one) / len(one), 0.05, 0.001)

    def model(n_, lam, sigma, kappa):
        import numpy as np

        n_ = np.asarray(n_)
        return lam * n_ / (1 + sigma * (n_ - 1) + kappa * n_ * (n_ - 1))

    try:
        (lam, sigma, kappa), _ = curve_fit(model, n, x, p0=guess,
                                           bounds=([0, 0, 0], [math.inf, 1, 1]))
    except (RuntimeError, ValueError) as exc:
        raise NotFittable(f"the least-squares fit did not converge ({exc})") from None
    predicted = [float(v) for v in model(n, lam, sigma, kappa)]
    residuals = [xi - pi for xi, pi in zip(x, predicted, strict=True)]
    mean = sum(x) / len(x)
    total = sum((xi - mean) ** 2 for xi in x)
    rmse = math.sqrt(sum(r * r for r in residuals) / len(residuals))
    r2 = 1 - sum(r * r for r in residuals) / total if total else 1.0
    return Fit(float(sigma), float(kappa), float(lam), rmse, r2, len(levels))


def sweeps(records: Sequence) -> dict[tuple, list[tuple[float, float]]]:
    """Closed-loop cells by (server, scenario, flavor, client): (users, rps) points of
    every ok trial, for configurations measured at two or more user counts."""
    out: dict[tuple, list[tuple[float, float]]] = {}
    for r in records:
        if r.status == "ok" and r.rate is None and r.users:
            out.setdefault((r.server, r.scenario, r.flavor, r.client), []).append(
                (float(r.users), float(r.rps)))
    return {k: v for k, v in out.items() if len({n for n, _ in v}) >= 2}
