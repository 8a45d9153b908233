"""Shared by every benchmark module: how a figure is summarised and reported.

A benchmark module is `bench/bench_<topic>.py` with `def run(quick: bool) -> dict[str, Figure]`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    median: float
    p95: float
    unit: str
    goal: float | None
    baseline: float | None = None
    n: int = 0
    #: "le": the figure must be at most the goal (times, sizes); "ge": at least.
    direction: str = "le"

    @property
    def meets_goal(self) -> bool | None:
        if self.goal is None:
            return None
        return self.median <= self.goal if self.direction == "le" else self.median >= self.goal

    def to_json(self) -> dict[str, float | str | int | bool | None]:
        data = asdict(self)
        data["meets_goal"] = self.meets_goal
        return data


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summarize(
    samples: Sequence[float],
    unit: str,
    goal: float | None,
    baseline: float | None = None,
    direction: str = "le",
) -> Figure:
    return Figure(
        median=statistics.median(samples),
        p95=percentile(samples, 0.95),
        unit=unit,
        goal=goal,
        baseline=baseline,
        n=len(samples),
        direction=direction,
    )
