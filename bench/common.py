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
    #: A goal for the 95th percentile as well (same direction), where a slow tail matters too.
    p95_goal: float | None = None

    @property
    def meets_goal(self) -> bool | None:
        """The median meets `goal` and the p95 meets `p95_goal` (each where set); None: no goal."""
        checks = [(self.median, self.goal), (self.p95, self.p95_goal)]
        results = [self._meets(value, goal) for value, goal in checks if goal is not None]
        return all(results) if results else None

    def _meets(self, value: float, goal: float) -> bool:
        return value <= goal if self.direction == "le" else value >= goal

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
    p95_goal: float | None = None,
) -> Figure:
    return Figure(
        median=statistics.median(samples),
        p95=percentile(samples, 0.95),
        unit=unit,
        goal=goal,
        baseline=baseline,
        n=len(samples),
        direction=direction,
        p95_goal=p95_goal,
    )
