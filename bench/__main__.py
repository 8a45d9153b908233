"""Run every benchmark module, print a table, write bench/results/latest.json.

Usage: python -m bench [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import Figure

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sample counts (under 2 minutes)")
    parser.add_argument("--only", nargs="*", default=None, help="module names, e.g. bench_realtime")
    args = parser.parse_args(argv)

    package = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(package)]) if m.name.startswith("bench_"))
    if args.only:
        names = [n for n in names if n in set(args.only)]
    figures: dict[str, Figure] = {}
    started = time.monotonic()
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", file=sys.stderr)
        figures.update(module.run(quick=args.quick))
    # goal: the median's; "/N" after it is the p95's, where a figure has one.
    print(f"{'figure':28} {'median':>10} {'p95':>10} {'unit':6} {'goal':>10} {'baseline':>10}  ok")
    for key, fig in figures.items():
        base = "" if fig.baseline is None else f"{fig.baseline:10.2f}"
        goal = "" if fig.goal is None else f"{fig.goal:g}"
        goal += "" if fig.p95_goal is None else f"/{fig.p95_goal:g}"
        ok = {True: "yes", False: "NO", None: "-"}[fig.meets_goal]
        print(f"{key:28} {fig.median:10.2f} {fig.p95:10.2f} {fig.unit:6} {goal:>10} {base:>10}  {ok}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # One key per figure; a partial run (--only) updates its figures and keeps the others.
    results: dict[str, object] = {}
    if args.only and RESULTS.exists():
        results = json.loads(RESULTS.read_text())
    results.update({k: f.to_json() for k, f in figures.items()})
    results["_meta"] = {
        "quick": args.quick,
        "seconds": round(time.monotonic() - started, 1),
        "modules": names,
        "python": sys.version.split()[0],
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # bench_ui leaves a qasync loop over a QApplication; at interpreter shutdown the loop's __del__ would
    # close it after Qt's objects are gone and print a traceback. The results are written: just leave.
    os._exit(code)
