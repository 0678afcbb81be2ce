"""Check a Grafana dashboard without Grafana: its wiring, and the PromQL syntax of every query.

    python tools/dashboard.py monitoring/dashboards/hostwatch.json

Every panel and target must use the `${datasource}` variable (the dashboard imports into any
Grafana, whatever its Prometheus is called), a `host` variable must exist, and every target must
have a query. Then each query, its variables substituted as Grafana would for one host, becomes a
recording rule in a temporary file that `promtool check rules` parses (PROMTOOL names the binary,
default `promtool` from PATH). Prints one line per problem and exits 1 if there is any.

Importable: `queries()` gives the substituted queries, so that a test can run each against a real
Prometheus, and `check()` the wiring problems.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATASOURCE_UIDS = {"${datasource}", "$datasource"}
# Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]] (the format is ignored).
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]")
DURATION = re.compile(r"(\d+)([smhdw])")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# A host in `host=~"$host"`: a regex in a PromQL string, where a backslash is written twice.
REGEX_SPECIAL = re.compile(r"([.+*?^$()\[\]{}|\\])")


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, the ones inside collapsed rows included (rows themselves too)."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def seconds(duration: str) -> int:
    """'1m' -> 60, '1h30m' -> 5400."""
    parts = DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * SECONDS[u] for n, u in parts)


def builtins(dashboard: dict[str, Any], rate_interval: str) -> dict[str, str]:
    """Grafana's own variables: the intervals are the rate interval given, the range the
    dashboard's default time range (`now-6h` -> 6h; 1h if it is not of that form)."""
    start = dashboard.get("time", {}).get("from", "now-1h")
    range_ = start.removeprefix("now-") if re.fullmatch(r"now-\w+", start) else "1h"
    try:
        range_s = seconds(range_)
    except ValueError:
        range_, range_s = "1h", 3600
    interval_ms = str(seconds(rate_interval) * 1000)
    return {
        "__rate_interval": rate_interval,
        "__interval": rate_interval,
        "__interval_ms": interval_ms,
        "__range": range_,
        "__range_s": str(range_s),
        "__range_ms": str(range_s * 1000),
    }


def substitute(text: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """The text with its variables replaced, and the names of those it has no value for."""
    unknown: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            unknown.append(name)
            return match.group(0)
        return values[name]

    return VARIABLE.sub(value, text), unknown


def _values(dashboard: dict[str, Any], host: str, rate_interval: str) -> dict[str, str]:
    return builtins(dashboard, rate_interval) | {"host": REGEX_SPECIAL.sub(r"\\\\\1", host)}


def queries(
    dashboard: dict[str, Any], host: str, rate_interval: str = "1m"
) -> list[tuple[str, str]]:
    """(panel title + refId, query) for every target of every panel, as Grafana sends it for
    this one host. Raises ValueError for a variable it has no value for (check() names them)."""
    values = _values(dashboard, host, rate_interval)
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr, unknown = substitute(target.get("expr", ""), values)
            where = f"{panel.get('title', '')} {target.get('refId', '')}".strip()
            if unknown:
                raise ValueError(f"{where}: no value for ${unknown[0]}")
            found.append((where, expr))
    return found


def _uid(datasource: Any) -> Any:
    return datasource.get("uid") if isinstance(datasource, dict) else datasource


def check(dashboard: dict[str, Any]) -> list[str]:
    """The dashboard's wiring problems: datasource variable, host variable, targets, queries."""
    found = []
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    datasource = variables.get("datasource", {})
    if (datasource.get("type"), datasource.get("query")) != ("datasource", "prometheus"):
        found.append("no variable `datasource` of type datasource for prometheus")
    if "host" not in variables:
        found.append("no variable `host`")
    for name, variable in variables.items():
        if (
            variable.get("type") == "query"
            and _uid(variable.get("datasource")) not in DATASOURCE_UIDS
        ):
            found.append(f"variable {name}: does not query ${{datasource}}")
    known = set(variables) | set(builtins(dashboard, "1m"))
    ids = [panel.get("id") for panel in panels(dashboard)]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        found.append(f"panel id {duplicate} is used more than once")

    for panel in panels(dashboard):
        title = panel.get("title") or f"panel {panel.get('id')}"
        if panel.get("type") == "row":
            if panel.get("repeat") and panel["repeat"] not in variables:
                found.append(f"row {title}: repeats by an unknown variable {panel['repeat']}")
            continue
        if _uid(panel.get("datasource")) not in DATASOURCE_UIDS:
            found.append(f"{title}: its datasource is not ${{datasource}}")
        targets = panel.get("targets", [])
        if not targets:
            found.append(f"{title}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            found.append(f"{title}: refIds are not unique: {refs}")
        for target in targets:
            where = f"{title} {target.get('refId', '?')}"
            if _uid(target.get("datasource")) not in DATASOURCE_UIDS:
                found.append(f"{where}: its datasource is not ${{datasource}}")
            expr = target.get("expr", "")
            if not expr.strip():
                found.append(f"{where}: no query (expr)")
            unknown = set(substitute(expr, dict.fromkeys(known, ""))[1])
            found += [f"{where}: unknown variable ${name}" for name in sorted(unknown)]
    return found


def record_name(where: str, taken: set[str]) -> str:
    """A metric name from a panel title and refId, unique in `taken` (and added to it)."""
    name = "dashboard:" + (re.sub(r"[^a-zA-Z0-9]+", "_", where).strip("_").lower() or "query")
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name}_{n}"
    taken.add(unique)
    return unique


def promtool_check(exprs: list[tuple[str, str]], promtool: str) -> list[str]:
    """What promtool finds parsing each query, as a recording rule named after its panel."""
    taken: set[str] = set()
    rules = [{"record": record_name(where, taken), "expr": expr} for where, expr in exprs]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "dashboard.yml")
        # JSON is YAML: no YAML library needed
        path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}, indent=1))
        try:
            done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            return [f"no {promtool} to run (PROMTOOL names it; `make test-rules` fetches one)"]
    if done.returncode == 0:
        return []
    # its findings, without the "Checking <file>" and "FAILED:" lines around them
    lines = (done.stdout + done.stderr).splitlines()
    found = [
        line.strip().replace(f"{path}: ", "")
        for line in lines
        if line.strip() and not line.startswith("Checking ")
    ]
    return [f"promtool check rules: {line}" for line in found if line != "FAILED:"]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    promtool = os.environ.get("PROMTOOL", "promtool")
    failed = False
    for name in argv[1:]:
        dashboard = json.loads(Path(name).read_text())
        found = check(dashboard)
        try:
            exprs = queries(dashboard, host="example-host")
        except ValueError:
            exprs = []  # a variable without value: check() named it
        found += promtool_check(exprs, promtool)
        for line in found:
            print(f"{name}: {line}")
        if found:
            failed = True
        else:
            count = sum(1 for panel in panels(dashboard) if panel.get("type") != "row")
            print(f"{name}: {count} panels, {len(exprs)} queries: wiring and PromQL syntax OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
