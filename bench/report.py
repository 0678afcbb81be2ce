"""`make bench`, step 2: docs/benchmarks.md and docs/bench-*.png from docs/benchmarks.json
(bench/run.py). Each section writes its part (bench/sections/); this puts the run, the goals they
judge and the sections together (bench/report.md.j2)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness import RESULTS, ROOT
from render import Page
from sections import MEASURED, REPORTED


def report(results: dict[str, Any], docs: Path) -> str:
    meta = results["meta"]
    ran = meta.get("sections", {})

    # each section says how it ran (BENCH_QUICK may differ from run to run)
    def quick(section: str) -> bool:
        return bool(ran.get(section, {}).get("quick", meta["quick"]))

    goals, texts = [], []
    for name, section in REPORTED.items():
        if name in results:
            page = Page(docs, quick(name))
            texts.append(section.render(results, page))
            goals += page.goals
    start = meta["start"]
    # sections not run this time (BENCH_SECTIONS) kept their figures from an earlier run
    earlier = [
        {"name": name, "run": ran.get(name), "quick": quick(name)}
        for name in meta["seconds"]
        if name not in ran or ran[name]["date"][:16] < start["date"][:16]
    ]
    return Page(docs, meta["quick"]).text(
        "report.md.j2",
        meta=meta,
        start=start,
        end=meta.get("end", start),
        took={name: meta["seconds"][name] for name in MEASURED if name in meta["seconds"]},
        earlier=earlier,
        goals=goals,
        sections=texts,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="where to write")
    args = parser.parse_args()
    args.docs.mkdir(exist_ok=True)
    text = report(json.loads(args.results.read_text()), args.docs)
    (args.docs / "benchmarks.md").write_text(text.rstrip() + "\n")
    print(f"wrote {args.docs / 'benchmarks.md'} and its plots")


if __name__ == "__main__":
    main()
