"""The statistics of every section, measured and reported: medians over rounds, ratios taken per
round (both sides measured in the same round, A B A B ...), percentiles, a straight line."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(sorted_values: list[float], p: float) -> float:
    """The value at rank n*p/100 (0-based) of the sorted values.

    Not statistics.quantiles or numpy's methods: none ranks this way, and the published figures
    were computed with this one."""
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


@dataclass(frozen=True)
class Ratio:
    """a / b round by round, reported as the median over rounds and its spread (lowest-highest)."""

    values: list[float]

    @classmethod
    def of(cls, a: list[float], b: list[float]) -> Ratio:
        return cls([x / y for x, y in zip(a, b, strict=False) if y])

    @property
    def median(self) -> float:
        return median(self.values)

    def __str__(self) -> str:
        if not self.values:
            return "-"
        return f"**{self.median:.2f}x** ({min(self.values):.2f}-{max(self.values):.2f})"


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line: (intercept, slope); one point: (0, its per-host figure)."""
    if len(points) < 2:
        n, t = points[0]
        return 0.0, t / n
    slope, intercept = statistics.linear_regression([p[0] for p in points], [p[1] for p in points])
    return intercept, slope
